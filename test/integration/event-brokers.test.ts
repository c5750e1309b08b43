import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import type { GetMessage } from 'amqplib';
import { verifySignature } from '../../src/security/webhooks.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ERP, gatewaySuite, NORTHWIND_KEY, post, status, waitFor } from '../helpers/gateway.js';
import { brokerFixture, NATS, NATS_URL, RABBIT, skipWithout } from '../helpers/brokers.js';

const AMQP_URL = `amqp://${RABBIT.host}:${RABBIT.port}/`;
const nwAsn = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');

type Envelope = { id: string; type: string; partnerId: string; data: Record<string, unknown> };

describe('events out to message brokers (RabbitMQ, NATS JetStream)', function () {
  this.timeout(30_000);
  // The ERP may subscribe on the machine's brokers only: the allow-list holds them as it holds webhook
  // URLs, and the RabbitMQ entry carries the login the gateway uses there.
  const s = gatewaySuite({
    env: {
      ERP_EVENT_URLS: `amqp://guest@${RABBIT.host}:${RABBIT.port}/,${NATS_URL}`,
      ERP_EVENT_BROKER_PASSWORD: 'guest',
      NORTHWIND_RABBIT_PASSWORD: 'not-the-password',
    },
  });
  const brokers = brokerFixture('gw-ev-test');
  const { run, exchange, stream } = brokers;
  let shipments = 0;

  before(async () => {
    // Northwind may publish its events to the same RabbitMQ, under a login of its entry (a wrong one here).
    const login = `{ url: "${AMQP_URL}", username: guest, passwordEnv: NORTHWIND_RABBIT_PASSWORD }`;
    await appendFile(path.join(s.t.partnersDir, 'northwind.yaml'), `events:\n  urls: [${login}]\n`);
    await s.t.gw.reload();
  });

  const subscribe = async (body: Record<string, unknown>, key = ERP.key, at = '/v1/erp/subscriptions') => {
    const res = await fetch(`${s.url}${at}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  /** A ship notice of its own from northwind; its message id. */
  const sendAsn = async () => {
    const res = await post(s.url, NORTHWIND_KEY, 'application/json', nwAsn.replace('NW-SH-10045', `NW-SH-EVB${++shipments}`));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.messageId as string;
  };
  /** What a consumer checks: the signature over the body with the subscription's secret, the event id beside the message id. */
  const verified = (signature: unknown, secret: string, body: Buffer): Envelope => {
    assert.doesNotThrow(() => verifySignature(String(signature), [secret], body, 300));
    assert.throws(() => verifySignature(String(signature), ['whsec_other'], body, 300), /matches no active/);
    return JSON.parse(body.toString('utf8')) as Envelope;
  };

  it('publishes document.received to a RabbitMQ exchange, signed, the delivery key as messageId, on the broker’s confirm', async function () {
    const rabbit = brokers.rabbit();
    if (!rabbit) skipWithout(this, 'RabbitMQ', RABBIT);
    const { ch } = rabbit;
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, exchange, 'events');
    const reg = await subscribe({ url: AMQP_URL, exchange, routingKey: 'events', types: ['document.received'] });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    assert.deepEqual([reg.body.exchange, reg.body.routingKey], [exchange, 'events']);
    const messageId = await sendAsn();

    const m = (await waitFor('the event in the bound queue', () => ch.get(queue, { noAck: true }), Boolean)) as GetMessage;
    const event = verified(m.properties.headers?.['x-gateway-signature'], reg.body.secret, m.content);
    assert.equal(event.type, 'document.received');
    assert.equal(event.partnerId, 'northwind');
    assert.equal(event.data.messageId, messageId);
    assert.equal(m.properties.messageId, `event:${reg.body.id}:${event.id}`, 'the delivery’s idempotency key, stable across retries');
    assert.equal(m.properties.headers?.['x-gateway-event-id'], event.id);
    assert.equal(m.properties.type, 'document.received');
    assert.equal(m.properties.deliveryMode, 2, 'persistent');
    const listed = await fetch(`${s.url}/v1/erp/subscriptions`, { headers: { authorization: `Bearer ${ERP.key}` } });
    const [sub] = ((await listed.json()) as { subscriptions: Record<string, unknown>[] }).subscriptions;
    assert.deepEqual([sub?.url, sub?.exchange, sub?.routingKey, sub?.secret], [AMQP_URL, exchange, 'events', undefined]);
  });

  it('publishes to a NATS JetStream subject with Nats-Msg-Id, signed', async function () {
    const nats = brokers.nats();
    if (!nats) skipWithout(this, 'NATS (JetStream)', NATS);
    const subject = `gwevtest.${run}.received`;
    const reg = await subscribe({ url: NATS_URL, subject, stream, types: ['document.received'] });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const messageId = await sendAsn();

    const { jsm } = nats;
    const stored = await waitFor(
      'the event in the stream',
      () => jsm.streams.getMessage(stream, { last_by_subj: subject }).catch(() => null),
      (m) => (m?.json<Envelope>().data.messageId ?? '') === messageId,
    );
    assert.ok(stored);
    const event = verified(stored.header?.get('x-gateway-signature'), reg.body.secret, Buffer.from(stored.data));
    assert.equal(event.type, 'document.received');
    assert.equal(stored.header?.get('Nats-Msg-Id'), `event:${reg.body.id}:${event.id}`);
    assert.equal(stored.header?.get('x-gateway-event-id'), event.id);
  });

  it('refuses a broker URL off the allow-list, and broker fields that do not go with the URL', async () => {
    const off = await subscribe({ url: `amqp://${RABBIT.host}:5673/`, exchange, routingKey: 'events', types: ['document.received'] });
    assert.equal(off.status, 400);
    assert.equal(off.body.error.code, 'GW_EVENT_URL_NOT_ALLOWED');
    // The ERP's list does not make a broker a partner's: northwind's profile allows none.
    const partner = await subscribe({ url: NATS_URL, subject: `gwevtest.${run}.nw`, types: ['document.received'] }, NORTHWIND_KEY, '/v1/subscriptions');
    assert.equal(partner.body.error?.code, 'GW_EVENT_URL_NOT_ALLOWED', JSON.stringify(partner.body));
    for (const body of [
      { url: AMQP_URL, exchange, types: ['document.received'] },
      { url: NATS_URL, types: ['document.received'] },
      { url: NATS_URL, subject: 'a.>', types: ['document.received'] },
      { url: `${AMQP_URL}?heartbeat=1`, exchange, routingKey: 'events', types: ['document.received'] },
      { url: NATS_URL, exchange, routingKey: 'events', subject: 'a.b', types: ['document.received'] },
      { url: 'https://erp.example/hooks', subject: 'a.b', types: ['document.received'] },
      // A subscriber never chooses the login, nor an environment variable to read it from.
      { url: AMQP_URL, exchange, routingKey: 'events', username: 'guest', passwordEnv: 'GATEWAY_MASTER_KEY', types: ['document.received'] },
    ]) {
      const res = await subscribe(body);
      assert.equal(res.body.error?.code, 'GW_REQUEST_INVALID', JSON.stringify(body));
    }
  });

  it('logs in at a broker with the login of the allow-list entry that allows the URL', async function () {
    const rabbit = brokers.rabbit();
    if (!rabbit) skipWithout(this, 'RabbitMQ', RABBIT);
    const reg = await subscribe({ url: AMQP_URL, exchange, routingKey: 'events', types: ['document.received'] }, NORTHWIND_KEY, '/v1/subscriptions');
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    const messageId = await sendAsn();
    // The ERP's entry logs in as guest with the right password (the tests above); northwind's entry has a wrong one.
    type Delivery = { target: string; lastError: { code: string; message?: string } | null };
    const st = await waitFor(
      'the refused login',
      () => status(s.url, NORTHWIND_KEY, messageId),
      (x) => Boolean(x.body.deliveries?.find((d: Delivery) => d.target === `event:${reg.body.id}`)?.lastError),
    );
    const failed = st.body.deliveries.find((d: Delivery) => d.target === `event:${reg.body.id}`) as Delivery;
    assert.equal(failed.lastError?.code, 'GW_BROKER_UNAVAILABLE', JSON.stringify(failed));
    const timeline: { type: string; detail: string }[] = st.body.timeline;
    assert.match(timeline.find((e) => e.type === 'delivery.failed' && e.detail.includes(reg.body.id))?.detail ?? '', /ACCESS.REFUSED/);
    await fetch(`${s.url}/v1/subscriptions/${reg.body.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${NORTHWIND_KEY}` } });
  });
});
