import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post, status, waitFor } from '../helpers/gateway.js';
import { brokerFixture, NATS, RABBIT, skipWithout } from '../helpers/brokers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const nwInvoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8');

type Status = { body: Record<string, any> };
type Delivery = { target: string; kind: string; idempotencyKey: string; state: string; attempts: number; lastError: { code: string } | null };
const deliveryTo = (s: Status, target: string): Delivery | undefined => s.body.deliveries?.find((d: Delivery) => d.target === target);

describe('delivery to message brokers (RabbitMQ, NATS JetStream)', function () {
  this.timeout(120_000);
  // A lease of a second lets a test play a worker that crashed after publishing.
  const s = gatewaySuite({ env: { BROKER_PASSWORD: 'guest', DELIVERY_LEASE_MS: '1000' } });
  const brokers = brokerFixture('gw-test');
  const { run, exchange, stream } = brokers;
  let invoices = 0;

  /** Gives northwind these broker routes for invoices (YAML flow maps), beside its ERP routes, and reloads. */
  const setBrokerRoutes = async (...targets: string[]) => {
    const file = path.join(s.t.partnersDir, 'northwind.yaml');
    const text = (await readFile(file, 'utf8')).replace(/(\n {2}# broker routes\n[\s\S]*?)?\nlimits:/, '\nlimits:');
    const routes = targets.map(
      (t) => `  - types: [invoice]\n    retry: { backoffMs: 20, backoffMaxMs: 200 }\n    breaker: { failures: 1000 }\n    target: ${t}\n`,
    );
    await writeFile(file, text.replace('\nlimits:', `\n  # broker routes\n${routes.join('')}limits:`));
    await s.t.gw.reload();
  };
  const postInvoice = async () => {
    const res = await post(s.url, NORTHWIND_KEY, 'application/json', nwInvoice.replace('NW-INV-2231', `NW-INV-B${++invoices}`));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.messageId as string;
  };
  const statusOf = (id: string) => () => status(s.url, NORTHWIND_KEY, id);
  const delivered = async (id: string, target: string) =>
    deliveryTo(await waitFor(`delivery to ${target}`, statusOf(id), (x) => deliveryTo(x, target)?.state === 'delivered'), target) as Delivery;
  const failedWith = (id: string, target: string, code: string) =>
    waitFor(
      `failed attempts to ${target}`,
      statusOf(id),
      (x) => (deliveryTo(x, target)?.attempts ?? 0) >= 2 && deliveryTo(x, target)?.lastError?.code === code,
    );
  const amqpTarget = (id: string, port: number, routingKey: string) =>
    `{ id: ${id}, kind: amqp, url: "amqp://127.0.0.1:${port}", username: guest, passwordEnv: BROKER_PASSWORD, ` +
    `exchange: ${exchange}, routingKey: ${routingKey} }`;
  const natsTarget = (id: string, port: number) =>
    `{ id: ${id}, kind: nats, servers: ["nats://127.0.0.1:${port}"], subject: gwtest.${run}.invoices, stream: ${stream} }`;

  /** A queue bound to the test exchange for this routing key; `take` gets what is in it now. */
  const boundQueue = async (routingKey: string) => {
    const ch = (brokers.rabbit() as NonNullable<ReturnType<typeof brokers.rabbit>>).ch;
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, exchange, routingKey);
    const take = async () => {
      const got = [];
      for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) got.push(m);
      return got;
    };
    return take;
  };

  it('publishes to a RabbitMQ exchange: persistent, the idempotency key as messageId, the ERP envelope as body', async function () {
    const rabbit = brokers.rabbit();
    if (!rabbit) skipWithout(this, 'RabbitMQ', RABBIT);
    const take = await boundQueue('invoices');
    await setBrokerRoutes(amqpTarget('erp-rabbit', RABBIT.port, 'invoices'));
    const id = await postInvoice();
    const d = await delivered(id, 'erp-rabbit');
    // Delivered means confirmed: the message is in the queue by then.
    const [m, ...more] = await take();
    assert.ok(m, 'the consumer gets the message');
    assert.equal(more.length, 0);
    assert.equal(m.properties.messageId, d.idempotencyKey);
    assert.equal(m.properties.deliveryMode, 2, 'persistent');
    assert.equal(m.properties.contentType, 'application/json');
    assert.equal(m.properties.headers?.['x-gateway-partner'], 'northwind');
    assert.equal(m.properties.headers?.['x-gateway-document-type'], 'invoice/v1');
    const envelope = JSON.parse(m.content.toString('utf8'));
    assert.equal(envelope.idempotencyKey, d.idempotencyKey);
    assert.equal(envelope.messageId, id);
    assert.equal(m.properties.correlationId, envelope.correlationId);
    assert.equal(envelope.documentNumber, `NW-INV-B${invoices}`);
  });

  it('counts a message no queue takes as refused, not delivered (GW_BROKER_REFUSED), and retries it', async function () {
    const rabbit = brokers.rabbit();
    if (!rabbit) skipWithout(this, 'RabbitMQ', RABBIT);
    await setBrokerRoutes(amqpTarget('erp-rabbit-unbound', RABBIT.port, `nobody-${run}`));
    const id = await postInvoice();
    const st = await failedWith(id, 'erp-rabbit-unbound', 'GW_BROKER_REFUSED');
    assert.notEqual(deliveryTo(st, 'erp-rabbit-unbound')?.state, 'delivered');
  });

  it('retries while RabbitMQ is unreachable, delivers once when it is back, reconnects after a lost connection, closes it at stop', async function () {
    const rabbit = brokers.rabbit();
    if (!rabbit) skipWithout(this, 'RabbitMQ', RABBIT);
    const take = await boundQueue('outage');
    const proxy = new TcpProxy(RABBIT);
    try {
      await setBrokerRoutes(amqpTarget('erp-rabbit-proxy', await proxy.reserve(), 'outage'));
      await outageThenBack(proxy, 'erp-rabbit-proxy');
      const keys = (await take()).map((m) => m.properties.messageId);
      assert.equal(keys.length, 2, `each document once: ${keys}`);
      assert.equal(new Set(keys).size, 2);
      assert.equal(proxy.connections, 1, 'one connection to the broker, kept between publishes');
      await s.restart();
      await waitFor(
        'the broker connection closed by the stop',
        async () => proxy.connections,
        (n) => n === 0,
      );
    } finally {
      await proxy.stop();
    }
  });

  /** Two documents through a proxy: the first while nothing listens, the second after the live connection is cut. */
  const outageThenBack = async (proxy: TcpProxy, target: string) => {
    const first = await postInvoice();
    await failedWith(first, target, 'GW_BROKER_UNAVAILABLE');
    await proxy.start();
    await delivered(first, target);
    // The gateway's connection dies with the proxy; the next send must open a new one.
    await proxy.stop();
    const second = await postInvoice();
    await failedWith(second, target, 'GW_BROKER_UNAVAILABLE');
    await proxy.start();
    await delivered(second, target);
  };

  it('publishes to NATS JetStream with Nats-Msg-Id, and the stream keeps one copy when a crashed worker publishes again', async function () {
    const nats = brokers.nats();
    if (!nats) skipWithout(this, 'NATS (JetStream)', NATS);
    await setBrokerRoutes(natsTarget('erp-nats', NATS.port));
    const id = await postInvoice();
    const d = await delivered(id, 'erp-nats');
    const stored = await nats.jsm.streams.getMessage(stream, { last_by_subj: `gwtest.${run}.invoices` });
    assert.ok(stored);
    assert.equal(stored.header?.get('Nats-Msg-Id'), d.idempotencyKey);
    assert.equal(stored.header?.get('content-type'), 'application/json');
    assert.equal(stored.header?.get('x-gateway-partner'), 'northwind');
    assert.equal(stored.json<{ idempotencyKey: string }>().idempotencyKey, d.idempotencyKey);
    const before = (await nats.jsm.streams.info(stream)).state.messages;
    // As if a worker had published, then died before recording it: the lease lapses and another sends again.
    await s.db.knex.transaction(async (trx) => {
      await trx('deliveries')
        .where({ message_id: id, target_id: 'erp-nats' })
        .update({ state: 'delivering', locked_by: 'crashed-worker', locked_at: trx.fn.now(), delivered_at: null });
      await trx('messages').where('id', id).update({ state: 'routed' });
    });
    const st = await waitFor('the second publish', statusOf(id), (x) => deliveryTo(x, 'erp-nats')?.attempts === 2 && x.body.state === 'delivered');
    const notes = st.body.timeline.filter((e: { type: string; detail: string }) => e.type === 'delivered' && e.detail.includes('nats'));
    assert.match(notes.at(-1).detail, /duplicate/, 'JetStream recognised the repeat by its Nats-Msg-Id');
    assert.equal((await nats.jsm.streams.info(stream)).state.messages, before, 'the stream holds the document once');
  });

  it('retries while NATS is unreachable and delivers once when it is back', async function () {
    const nats = brokers.nats();
    if (!nats) skipWithout(this, 'NATS (JetStream)', NATS);
    const proxy = new TcpProxy(NATS);
    try {
      await setBrokerRoutes(natsTarget('erp-nats-proxy', await proxy.reserve()));
      const before = (await nats.jsm.streams.info(stream)).state.messages;
      await outageThenBack(proxy, 'erp-nats-proxy');
      assert.equal((await nats.jsm.streams.info(stream)).state.messages, before + 2);
    } finally {
      await proxy.stop();
    }
  });
});
