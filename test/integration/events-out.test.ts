import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { publishEvent } from '../../src/delivery/events-out.js';
import { flagOverdueAcks } from '../../src/pipeline/outbound.js';
import { rewrapSubscriptionSecrets, subscriptionForSending } from '../../src/delivery/subscriptions.js';
import { MasterKeys, newMasterKey, parseMasterKey, rotateMasterKey } from '../../src/security/secrets.js';
import { verifySignature } from '../../src/security/webhooks.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ERP_ORDER, sendOrder } from '../helpers/orders.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver, type ErpRequest } from '../helpers/erp.js';
import { ACME_KEY, ERP, NORTHWIND_KEY, post, startTestGateway, status, waitFor, type TestGateway } from '../helpers/gateway.js';

const nwAsn = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');
const acme856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));

/** A ship notice of its own (a new shipment number), so that no two tests send the same bytes. */
const asn = (n: string) => nwAsn.replace('NW-SH-10045', `NW-SH-${n}`);

type Event = { id: string; type: string; partnerId: string | null; occurredAt: string; data: Record<string, unknown> };
const eventOf = (r: ErpRequest) => r.body as unknown as Event;

type Timeline = { type: string; code?: string; detail: string; deliveryId?: string }[];

describe('events out: subscriptions, signed events through the outbox', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let erp: ErpReceiver;
  /** The subscribers' endpoint (ERP and partner hooks alike), a real loopback HTTP server. */
  let hooks: ErpReceiver;
  let t: TestGateway;
  let url: string;
  const hook = (p: string) => `http://127.0.0.1:${hooks.port}/hooks/${p}`;

  before(async () => {
    hooks = new ErpReceiver();
    await hooks.start();
    db = await freshDatabase();
    erp = new ErpReceiver();
    await erp.start();
    t = await startTestGateway(db.knex, erp.url, { ERP_EVENT_URLS: `http://127.0.0.1:${hooks.port}/hooks/` });
    url = t.gw.url;
    // Northwind may register hooks below its own folder only.
    await appendFile(path.join(t.partnersDir, 'northwind.yaml'), `events:\n  urls: ["${hook('northwind/')}"]\n`);
    await t.gw.reload();
  });
  after(async () => {
    await t?.close();
    await erp?.stop();
    await hooks?.stop();
    await db?.drop();
  });
  afterEach(async () => {
    for (const s of (await erpCall('GET', '/v1/erp/subscriptions')).body.subscriptions) await erpCall('DELETE', `/v1/erp/subscriptions/${s.id}`);
    hooks.respond = () => 202;
    hooks.requests.length = 0;
  });

  async function call(key: string, method: string, p: string, body?: unknown) {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: res.status === 204 ? {} : ((await res.json()) as Record<string, any>) };
  }
  const erpCall = (method: string, p: string, body?: unknown) => call(ERP.key, method, p, body);
  const at = (p: string) => hooks.requests.filter((r) => r.path === `/hooks/${p}`);
  const timelineOf = async (id: string): Promise<Timeline> => (await status(url, NORTHWIND_KEY, id)).body.timeline ?? [];

  it('costs no query to publish an event nobody subscribed to', async () => {
    // First in the suite: no subscription changes (and no change signal) while it runs.
    let queries = 0;
    await db.knex.transaction(async (trx) => {
      await publishEvent(trx, { type: 'ack.overdue', partnerId: 'northwind', data: {} });
      trx.on('query', () => queries++);
      for (let i = 0; i < 100; i++) assert.equal(await publishEvent(trx, { type: 'document.received', partnerId: 'northwind', data: {} }), 0);
      assert.equal(queries, 0);
      await trx.raw('SELECT 1');
      assert.equal(queries, 1, 'the count sees queries');
    });
  });

  it('signs document.received and document.delivered for an ERP subscriber, retries a failing receiver, and shows the deliveries on the timeline', async () => {
    const reg = await erpCall('POST', '/v1/erp/subscriptions', { url: hook('erp'), types: ['document.received', 'document.delivered'] });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    assert.match(reg.body.secret, /^whsec_/);
    const listed = await erpCall('GET', '/v1/erp/subscriptions');
    assert.equal(listed.body.subscriptions[0].secret, undefined, 'the secret is shown once, at registration');
    // The subscriber fails its first request: the event is retried with the same id.
    hooks.respond = (_req, nth) => (nth === 1 ? 503 : 200);

    const sent = await post(url, NORTHWIND_KEY, 'application/json', asn('EV1'));
    assert.equal(sent.status, 202);
    const got = await waitFor(
      'document.received and document.delivered events',
      async () => at('erp').slice(1),
      (rs) => rs.some((r) => r.body.type === 'document.received') && rs.some((r) => r.body.type === 'document.delivered'),
    );
    const first = at('erp')[0] as ErpRequest;
    assert.equal(got.filter((r) => r.body.id === first.body.id).length, 1, 'the failed event came again, once');
    for (const r of got) {
      assert.doesNotThrow(() => verifySignature(String(r.headers['x-gateway-signature']), [reg.body.secret], r.raw, 300));
      assert.throws(() => verifySignature(String(r.headers['x-gateway-signature']), ['whsec_other'], r.raw, 300), /matches no active/);
      assert.equal(r.headers['idempotency-key'], r.body.id);
      assert.equal(r.body.partnerId, 'northwind');
      assert.equal(eventOf(r).data.messageId, sent.body.messageId);
    }
    const received = got.find((r) => r.body.type === 'document.received') as ErpRequest;
    assert.equal(eventOf(received).data.documentType, 'asn');
    assert.ok(Date.parse(String(received.body.occurredAt)));

    const timeline = await waitFor(
      'the event deliveries on the timeline',
      () => timelineOf(sent.body.messageId),
      (tl) => tl.filter((e) => e.type === 'delivered' && e.detail.includes(`event:${reg.body.id}`)).length >= 2,
    );
    const failed = timeline.find((e) => e.type === 'delivery.failed' && e.detail.includes(`event:${reg.body.id}`));
    assert.equal(failed?.code, 'GW_DELIVERY_HTTP', JSON.stringify(timeline));
  });

  it('refuses a URL outside the allow-list at registration, for the ERP and for a partner', async () => {
    const erpOut = await erpCall('POST', '/v1/erp/subscriptions', { url: 'http://127.0.0.1:9/elsewhere', types: ['document.received'] });
    assert.equal(erpOut.status, 400);
    assert.equal(erpOut.body.error.code, 'GW_EVENT_URL_NOT_ALLOWED');
    const partnerOut = await call(NORTHWIND_KEY, 'POST', '/v1/subscriptions', { url: hook('erp'), types: ['document.received'] });
    assert.equal(partnerOut.status, 400);
    assert.equal(partnerOut.body.error.code, 'GW_EVENT_URL_NOT_ALLOWED');
    const unknownType = await erpCall('POST', '/v1/erp/subscriptions', { url: hook('erp'), types: ['document.eaten'] });
    assert.equal(unknownType.body.error.code, 'GW_REQUEST_INVALID');
    assert.deepEqual((await erpCall('GET', '/v1/erp/subscriptions')).body.subscriptions, []);
  });

  it("gives a partner's subscription its own events only", async () => {
    const reg = await call(NORTHWIND_KEY, 'POST', '/v1/subscriptions', {
      url: hook('northwind/events'),
      types: ['document.received', 'document.rejected'],
    });
    assert.equal(reg.status, 201, JSON.stringify(reg.body));
    try {
      const theirs = await post(url, ACME_KEY, 'application/edi-x12', acme856);
      const ours = await post(url, NORTHWIND_KEY, 'application/json', asn('EV2'));
      const broken = await post(url, NORTHWIND_KEY, 'application/json', '{"shipmentNumber": ');
      await waitFor(
        'the partner events',
        async () => at('northwind/events'),
        (rs) => rs.length >= 2,
      );
      const rejected = at('northwind/events').find((r) => eventOf(r).type === 'document.rejected');
      assert.equal(rejected && eventOf(rejected).data.messageId, broken.body.messageId);
      assert.equal(rejected && (eventOf(rejected).data.problems as { code: string }[])[0]?.code, 'GW_JSON_SYNTAX');
      // ACME's message is settled (its documents interpreted) before we look for what it did not send.
      await waitFor(
        'the other partner interpreted',
        () => status(url, ACME_KEY, theirs.body.messageId),
        (s) => s.body.state !== 'received',
      );
      const queued = await db.knex('deliveries').where('target_id', `event:${reg.body.id}`).distinct('partner_id');
      assert.deepEqual(queued, [{ partner_id: 'northwind' }], "no event of ACME's was queued for Northwind");
      const ids = at('northwind/events').map((r) => eventOf(r).data.messageId);
      assert.deepEqual([...new Set(ids)].sort(), [ours.body.messageId, broken.body.messageId].sort());
      assert.equal(at('northwind/events')[0]?.body.partnerId, 'northwind');
    } finally {
      assert.equal((await call(NORTHWIND_KEY, 'DELETE', `/v1/subscriptions/${reg.body.id}`)).status, 204);
    }
  });

  it('does not follow a redirect: the event goes to dead letter with GW_EVENT_REDIRECT', async () => {
    const reg = await erpCall('POST', '/v1/erp/subscriptions', { url: hook('moved'), types: ['document.received'] });
    hooks.respond = (req) => (req.path === '/hooks/moved' ? { status: 307, headers: { location: hook('elsewhere') } } : 200);
    const sent = await post(url, NORTHWIND_KEY, 'application/json', asn('EV3'));
    const timeline = await waitFor(
      'the redirected event dead',
      () => timelineOf(sent.body.messageId),
      (tl) => tl.some((e) => e.type === 'delivery.dead' && e.detail.includes(`event:${reg.body.id}`)),
    );
    assert.equal(timeline.find((e) => e.type === 'delivery.dead')?.code, 'GW_EVENT_REDIRECT');
    assert.equal(at('moved').length, 1);
    assert.equal(at('elsewhere').length, 0, 'the redirect was not followed');
  });

  it('tells of an expiring credential once: a partner of its own, the ERP of every one', async () => {
    const erpReg = await erpCall('POST', '/v1/erp/subscriptions', { url: hook('erp-creds'), types: ['credential.expiring'] });
    const nwReg = await call(NORTHWIND_KEY, 'POST', '/v1/subscriptions', { url: hook('northwind/creds'), types: ['credential.expiring'] });
    const soon = new Date(Date.now() + 3 * 86_400_000);
    const by = { actor: 'test', source: 'events-out.test' };
    const { store } = t.gw.security;
    await store.issue({ kind: 'api-key', partnerId: 'northwind', expiresAt: soon }, by);
    await store.issue({ kind: 'api-key', partnerId: 'acme-supply', expiresAt: soon }, by);
    await store.issue({ kind: 'erp-signing-secret', partnerId: null, expiresAt: soon }, by);
    // Each check (start, reload, hourly) publishes what expires; a fact told once is not queued again.
    await t.gw.reload();
    await t.gw.reload();
    const erpGot = await waitFor(
      'the ERP told of three credentials',
      async () => at('erp-creds'),
      (rs) => rs.length >= 3,
    );
    await waitFor(
      'the partner told of its own',
      async () => at('northwind/creds'),
      (rs) => rs.length >= 1,
    );
    assert.deepEqual(erpGot.map((r) => String(eventOf(r).partnerId)).sort(), ['acme-supply', 'northwind', 'null']);
    assert.deepEqual(
      at('northwind/creds').map((r) => eventOf(r).partnerId),
      ['northwind'],
    );
    const queued = await db
      .knex('deliveries')
      .whereIn('target_id', [`event:${erpReg.body.id}`, `event:${nwReg.body.id}`])
      .count({ n: '*' });
    assert.equal(Number(queued[0]?.n), 4, 'three for the ERP, one for the partner, however many checks');
    assert.equal((await call(NORTHWIND_KEY, 'DELETE', `/v1/subscriptions/${nwReg.body.id}`)).status, 204);
  });

  it('tells of an acknowledgment overdue where the overdue check flags it', async () => {
    const reg = await erpCall('POST', '/v1/erp/subscriptions', { url: hook('erp-acks'), types: ['ack.overdue'] });
    const sent = await sendOrder(url, ERP_ORDER);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    // The 997 was due a minute ago; the check runs now instead of at its period (unless the gateway ran it first).
    await db
      .knex('messages')
      .where('id', sent.body.messageId)
      .update({ ack_due_at: db.knex.raw("now() - interval '1 minute'") });
    await flagOverdueAcks(db.knex);
    const [event] = await waitFor(
      'the ack.overdue event',
      async () => at('erp-acks'),
      (rs) => rs.length >= 1,
    );
    assert.equal(event && eventOf(event).partnerId, 'acme-supply');
    assert.equal(event && eventOf(event).data.messageId, sent.body.messageId);
    const timeline: Timeline = (await erpCall('GET', `/v1/erp/messages/${sent.body.messageId}`)).body.timeline;
    assert.ok(timeline.some((e) => e.type === 'ack.overdue'));
    await waitFor(
      'the event delivery on the timeline',
      async () => (await erpCall('GET', `/v1/erp/messages/${sent.body.messageId}`)).body.timeline as Timeline,
      (tl) => tl.some((e) => e.type === 'delivered' && e.detail.includes(`event:${reg.body.id}`)),
    );
  });

  // Last: the running gateway keeps the old key, which no longer opens the store's secrets.
  it("re-wraps the subscriptions' secrets when the master key rotates", async () => {
    const reg = await erpCall('POST', '/v1/erp/subscriptions', { url: hook('erp'), types: ['ack.overdue'] });
    const next = parseMasterKey(newMasterKey(), 'the next key');
    await rotateMasterKey(db.knex, t.gw.security.keys, next, [rewrapSubscriptionSecrets]);
    assert.equal((await subscriptionForSending(db.knex, new MasterKeys(next), reg.body.id))?.secret, reg.body.secret);
  });
});
