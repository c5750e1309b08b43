import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Receiver } from '../../src/pipeline/receive.js';
import { replayMessage } from '../../src/pipeline/replay.js';
import { CLI_ENTRY } from '../helpers/cli.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver } from '../helpers/erp.js';
import { ACME_KEY, NORTHWIND_KEY, post, startTestGateway, status, waitFor, type TestGateway } from '../helpers/gateway.js';
import { setErpRoute } from '../helpers/routes.js';

const run = promisify(execFile);
const X12 = 'application/edi-x12';
const sample856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));
const sopi856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004010-SOPI-pipe.edi'));
const nwAsn = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'));
const nwInvoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'));

type Status = { body: Record<string, any> };
const stateIs =
  (...states: string[]) =>
  (s: Status) =>
    states.includes(s.body.state);
// A long poll may meet the partner's rate limit: a 429 has no timeline yet.
const events = (s: Status, type: string) => (s.body.timeline ?? []).filter((e: { type: string }) => e.type === type);

describe('delivery: outbox, retries, dead letters and replay', function () {
  this.timeout(180_000);
  let db: TestDatabase;
  let erp: ErpReceiver;
  let t: TestGateway;
  let url: string;

  beforeEach(async () => {
    db = await freshDatabase();
    erp = new ErpReceiver();
    await erp.start();
    // A short pause of a failing target, so that a test sees the ERP again soon after it returns.
    t = await startTestGateway(db.knex, erp.url, { DELIVERY_BREAKER_COOLDOWN_MS: '200' });
    url = t.gw.url;
  });
  afterEach(async () => {
    await t?.close();
    await erp?.stop();
    await db?.drop();
  });

  it('holds documents while the ERP is down and delivers each exactly once when it is back, with a stable Idempotency-Key', async () => {
    // The default policy: no attempt cap, a day of maximum age; however slow the machine, nothing goes dead here.
    await setErpRoute(t, []);
    await erp.stop();
    const sent = [
      await post(url, ACME_KEY, X12, sample856),
      await post(url, ACME_KEY, X12, sopi856),
      await post(url, NORTHWIND_KEY, 'application/json', nwAsn),
      await post(url, NORTHWIND_KEY, 'application/json', nwInvoice),
    ];
    assert.deepEqual(
      sent.map((s) => s.status),
      [202, 202, 202, 202],
    );
    const keyOf = (i: number) => (i < 2 ? ACME_KEY : NORTHWIND_KEY);
    // Each delivery fails at least once against the stopped receiver, and none goes dead.
    for (const [i, s] of sent.entries()) {
      const st = await waitFor(
        'a failed attempt',
        () => status(url, keyOf(i), s.body.messageId),
        (x) => events(x, 'delivery.failed').length >= 1,
        60_000,
      );
      assert.equal(st.body.state, 'routed');
      assert.equal(events(st, 'delivery.failed')[0].code, 'GW_DELIVERY_NETWORK');
    }
    await erp.start();
    for (const [i, s] of sent.entries()) {
      const st = await waitFor('delivery', () => status(url, keyOf(i), s.body.messageId), stateIs('delivered', 'dead'), 60_000);
      assert.equal(st.body.state, 'delivered', JSON.stringify(st.body.deliveries));
      assert.equal(events(st, 'delivery.dead').length, 0);
    }
    const expectedKeys = sent.map((s) => `${s.body.messageId}.1.erp-http`).sort();
    assert.deepEqual([...erp.keyCounts().keys()].sort(), expectedKeys);
    assert.deepEqual([...erp.keyCounts().values()], [1, 1, 1, 1], 'each document reached the ERP exactly once');
  });

  it('retries a request the ERP failed with the same Idempotency-Key', async () => {
    erp.respond = (_r, nth) => (nth === 1 ? 503 : 202);
    const res = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice);
    const st = await waitFor('delivery', () => status(url, NORTHWIND_KEY, res.body.messageId), stateIs('delivered', 'dead'));
    assert.equal(st.body.state, 'delivered');
    assert.equal(erp.requests.length, 2);
    assert.equal(erp.requests[0]?.headers['idempotency-key'], erp.requests[1]?.headers['idempotency-key']);
    assert.equal(st.body.deliveries[0].attempts, 2);
    assert.equal(events(st, 'delivery.failed')[0].code, 'GW_DELIVERY_HTTP');
  });

  it('moves a delivery the ERP keeps failing to dead letter after its bounded attempts, then replays it', async () => {
    erp.respond = () => 500;
    const res = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice);
    const id = res.body.messageId as string;
    const dead = await waitFor('dead letter', () => status(url, NORTHWIND_KEY, id), stateIs('dead'));
    const d = dead.body.deliveries[0];
    assert.equal(d.state, 'dead');
    assert.equal(d.attempts, 4);
    assert.equal(d.maxAttempts, 4);
    assert.equal(d.lastError.code, 'GW_DELIVERY_HTTP');
    assert.match(d.lastError.message, /HTTP 500/);
    assert.equal(events(dead, 'delivery.failed').length, 3);
    assert.equal(events(dead, 'delivery.dead').length, 1);
    // Backoff doubles: before the 4th attempt it waited at least 0.75 × 40 ms × 2² (a lower bound, so load cannot break it).
    const at = events(dead, 'delivery.failed')
      .concat(events(dead, 'delivery.dead'))
      .map((e: { at: string }) => Date.parse(e.at));
    assert.ok((at[3] ?? 0) - (at[2] ?? 0) >= 120, `gaps between attempts: ${at.map((x: number, i: number) => x - (at[i - 1] ?? x))} ms`);

    erp.respond = () => 202;
    const outcome = await replayMessage(db.knex, id);
    assert.deepEqual(outcome, { messageId: id, action: 'redeliver', deliveries: 1 });
    const done = await waitFor('delivery after replay', () => status(url, NORTHWIND_KEY, id), stateIs('delivered'));
    assert.equal(done.body.deliveries[0].attempts, 1);
    assert.equal(new Set(erp.requests.map((r) => r.headers['idempotency-key'])).size, 1, 'the replay keeps the idempotency key');
    assert.equal(erp.requests.at(-1)?.headers['idempotency-key'], `${id}.1.erp-http`);
  });

  it('sends a delivery the ERP refuses with a 4xx straight to dead letter, and `gateway replay` re-queues it', async () => {
    erp.respond = () => 400;
    const res = await post(url, NORTHWIND_KEY, 'application/json', nwAsn);
    const id = res.body.messageId as string;
    const dead = await waitFor('dead letter', () => status(url, NORTHWIND_KEY, id), stateIs('dead'));
    assert.equal(dead.body.deliveries.find((d: { target: string }) => d.target === 'erp-http').attempts, 1);
    assert.match(events(dead, 'delivery.dead')[0].detail, /not retryable/);
    assert.equal(events(dead, 'delivery.dead')[0].code, 'GW_DELIVERY_REFUSED');

    erp.respond = () => 200;
    const cli = await run(process.execPath, [...CLI_ENTRY, 'replay', id], {
      env: { ...process.env, DATABASE_URL: db.url, PARTNERS_DIR: t.partnersDir, LOG_LEVEL: 'silent' },
    });
    assert.match(cli.stdout, /1 delivery\(ies\) queued again/);
    await waitFor('delivery after CLI replay', () => status(url, NORTHWIND_KEY, id), stateIs('delivered'));
  });

  it('interprets a rejected message again after its partner profile is fixed', async () => {
    const foreign = Buffer.from(sample856.toString('latin1').replace('*12*4405197800     *', '*12*5550001111     *'), 'latin1');
    const res = await post(url, ACME_KEY, X12, foreign);
    const id = res.body.messageId as string;
    await waitFor('rejection', () => status(url, ACME_KEY, id), stateIs('rejected'));
    await assert.rejects(replayMessage(db.knex, '00000000-0000-4000-8000-000000000000'), { code: 'GW_NOT_FOUND' });

    // The partner manager adds the partner's new ISA id and reloads the configuration.
    const file = path.join(t.partnersDir, 'acme-supply.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(
        '    - { qualifier: "11", id: "RA0219798" }',
        '    - { qualifier: "11", id: "RA0219798" }\n    - { qualifier: "12", id: "5550001111" }',
      ),
    );
    await t.gw.reload();
    assert.equal((await replayMessage(db.knex, id)).action, 'reinterpret');
    const st = await waitFor('delivery after replay', () => status(url, ACME_KEY, id), stateIs('delivered', 'rejected'));
    assert.equal(st.body.state, 'delivered');
    assert.deepEqual(events(st, 'replayed').length, 1);
    assert.ok(events(st, 'rejected').length >= 1, 'the first rejection stays on the timeline');
    await assert.rejects(replayMessage(db.knex, id), { code: 'GW_REPLAY_STATE' });
  });

  it('claims again a delivery left `delivering` by a crashed worker once its lease has passed', async () => {
    const res = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice);
    const id = res.body.messageId as string;
    await waitFor('delivery', () => status(url, NORTHWIND_KEY, id), stateIs('delivered'));
    // As if a worker had claimed it 10 minutes ago and died before recording anything.
    await db.knex.transaction(async (trx) => {
      await trx('deliveries')
        .where('message_id', id)
        .update({ state: 'delivering', locked_by: 'dead-worker', locked_at: trx.raw("now() - interval '10 minutes'"), delivered_at: null });
      await trx('messages').where('id', id).update({ state: 'routed' });
    });
    const st = await waitFor(
      'redelivery',
      () => status(url, NORTHWIND_KEY, id),
      (x) => x.body.state === 'delivered' && x.body.deliveries[0].attempts === 2,
    );
    assert.equal(events(st, 'delivered').length, 2);
    assert.deepEqual([...erp.keyCounts().entries()], [[`${id}.1.erp-http`, 2]], 'resent with the same idempotency key');
  });

  it('processes after a restart a message that was stored before a crash', async () => {
    await t.close();
    // Stored and acknowledged, then the process died before interpreting it.
    const receiver = new Receiver(db.knex, { maxBatch: 1, maxWaitMs: 0 });
    const receipt = await receiver.receive({ partnerId: 'northwind', channel: 'rest', contentType: 'application/json', format: 'json', bytes: nwAsn });
    assert.equal((await db.knex('messages').where('id', receipt.messageId).first()).state, 'received');
    t = await startTestGateway(db.knex, erp.url);
    const st = await waitFor('processing after restart', () => status(t.gw.url, NORTHWIND_KEY, receipt.messageId), stateIs('delivered'));
    assert.equal(st.body.documents[0].canonical.shipmentId, 'NW-SH-10045');
  });

  it('shares the work between two gateway processes on one database without delivering anything twice', async () => {
    const second = await startTestGateway(db.knex, erp.url);
    try {
      const posts = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          post(i % 2 ? second.gw.url : url, NORTHWIND_KEY, 'application/json', nwInvoice.toString().replace('NW-INV-2231', `NW-INV-${i}`)),
        ),
      );
      assert.ok(posts.every((p) => p.status === 202));
      for (const p of posts) await waitFor('delivery', () => status(url, NORTHWIND_KEY, p.body.messageId), stateIs('delivered'));
      assert.equal(erp.requests.length, 30);
      assert.equal(erp.keyCounts().size, 30);
    } finally {
      await second.close();
    }
  });
});
