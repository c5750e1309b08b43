import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { listTargets } from '../../src/delivery/breaker.js';
import { runCli } from '../helpers/cli.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post, startTestGateway, status, waitFor } from '../helpers/gateway.js';
import { ErpReceiver } from '../helpers/erp.js';
import { setErpRoute } from '../helpers/routes.js';

const nwInvoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8');
const invoice = (n: number) => nwInvoice.replace('NW-INV-2231', `NW-INV-R${n}`);

type Status = { body: Record<string, any> };
const stateIs =
  (...states: string[]) =>
  (s: Status) =>
    states.includes(s.body.state);
// A long poll may meet the partner's rate limit: a 429 has no timeline yet.
const events = (s: Status, type: string) => (s.body.timeline ?? []).filter((e: { type: string }) => e.type === type);
/** Deadlines are generous: they only end a test that is broken, never one on a slow machine. */
const LONG = 90_000;

describe('delivery: leases, retry policy and circuit breaker', function () {
  this.timeout(240_000);
  const s = gatewaySuite({ env: { DELIVERY_LEASE_MS: '1000' }, perTest: true });
  const dbNow = async () => Date.parse((await s.db.knex.raw('SELECT now() AS now')).rows[0].now);
  // Polls a few times a second: long waits must stay under the partner's rate limit (600 requests a minute).
  const statusOf = (id: string) => async () => {
    await new Promise((r) => setTimeout(r, 150));
    return status(s.url, NORTHWIND_KEY, id);
  };

  const postInvoice = async (n: number) => {
    const res = await post(s.url, NORTHWIND_KEY, 'application/json', invoice(n));
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res;
  };

  it('sends again, seconds after its lease lapses, a delivery claimed by a worker that crashed', async () => {
    const res = await postInvoice(1);
    const id = res.body.messageId as string;
    await waitFor('delivery', statusOf(id), stateIs('delivered'), LONG);
    // As if a worker had claimed it just now and died before recording anything (no heartbeat follows).
    const claimedAt = await dbNow();
    await s.db.knex.transaction(async (trx) => {
      await trx('deliveries').where('message_id', id).update({ state: 'delivering', locked_by: 'crashed-worker', locked_at: trx.fn.now(), delivered_at: null });
      await trx('messages').where('id', id).update({ state: 'routed' });
    });
    // Before the fix the lease was five minutes; this deadline is far shorter, and the lease is 1 s.
    const st = await waitFor('redelivery', statusOf(id), (x) => x.body.state === 'delivered' && x.body.deliveries[0].attempts === 2, 60_000);
    const resent = Date.parse(events(st, 'delivered')[1].at);
    assert.ok(resent - claimedAt >= 1000, `taken over ${resent - claimedAt} ms after the claim, before its 1 s lease lapsed`);
    assert.deepEqual([...s.erp.keyCounts().entries()], [[`${id}.1.erp-http`, 2]], 'resent with the same idempotency key');
  });

  it('keeps a slow send claimed by its live worker (heartbeat): another process does not send it twice', async () => {
    await setErpRoute(s.t, [], 20_000);
    const second = await startTestGateway(s.db.knex, s.erp.url, { DELIVERY_LEASE_MS: '1000' });
    try {
      await setErpRoute(second, [], 20_000);
      // The ERP takes four leases to answer the first request; the second gateway polls all along.
      s.erp.respond = (_r, nth) => (nth === 1 ? new Promise((resolve) => setTimeout(() => resolve(202), 4000)) : 202);
      const res = await postInvoice(2);
      const st = await waitFor('delivery', statusOf(res.body.messageId), stateIs('delivered'), LONG);
      assert.equal(st.body.deliveries[0].attempts, 1);
      assert.equal(s.erp.requests.length, 1, 'one request: the lease was renewed while the send was in flight');
    } finally {
      await second.close();
    }
  });

  it('rides out an ERP outage longer than eight attempts and delivers the document exactly once when the ERP is back', async () => {
    await setErpRoute(s.t, ['retry: { backoffMs: 10, backoffMaxMs: 50 }', 'breaker: { failures: 1000 }']);
    await s.erp.stop();
    const res = await postInvoice(3);
    const id = res.body.messageId as string;
    const down = await waitFor('twelve failed attempts', statusOf(id), (x) => x.body.deliveries[0]?.attempts >= 12, LONG);
    assert.equal(down.body.state, 'routed');
    assert.equal(down.body.deliveries[0].maxAttempts, null);
    await s.erp.start();
    const st = await waitFor('delivery', statusOf(id), stateIs('delivered', 'dead'), LONG);
    assert.equal(st.body.state, 'delivered');
    assert.equal(events(st, 'delivery.dead').length, 0);
    assert.ok(events(st, 'delivery.failed').length >= 12);
    assert.deepEqual([...s.erp.keyCounts().entries()], [[`${id}.1.erp-http`, 1]], 'delivered exactly once');
  });

  it('sends a delivery to dead letter when it reaches its maximum age, not after a number of attempts', async () => {
    await setErpRoute(s.t, ['retry: { maxAgeSeconds: 1, backoffMs: 50, backoffMaxMs: 200 }', 'breaker: { failures: 1000 }']);
    s.erp.respond = () => 503;
    const res = await postInvoice(4);
    const st = await waitFor('dead letter', statusOf(res.body.messageId), stateIs('dead'), LONG);
    const [dead] = events(st, 'delivery.dead');
    assert.equal(dead.code, 'GW_DELIVERY_HTTP');
    assert.match(dead.detail, /maximum age 1 s reached/);
    const routedAt = Date.parse(events(st, 'routed')[0].at);
    assert.ok(Date.parse(dead.at) - routedAt >= 1000, 'not dead before its age');
    assert.ok(st.body.deliveries[0].attempts >= 2);
    assert.equal(new Set(s.erp.requests.map((r) => r.headers['idempotency-key'])).size, 1, 'every retry carries the same idempotency key');
  });

  it('sends a refused (400) delivery to dead letter at once, without pausing the target', async () => {
    await setErpRoute(s.t, ['breaker: { failures: 1 }']);
    s.erp.respond = (_r, nth) => (nth === 1 ? 400 : 202);
    const refused = await postInvoice(5);
    const st = await waitFor('dead letter', statusOf(refused.body.messageId), stateIs('dead'), LONG);
    assert.equal(st.body.deliveries[0].attempts, 1);
    assert.equal(events(st, 'delivery.dead')[0].code, 'GW_DELIVERY_REFUSED');
    assert.equal(events(st, 'target.paused').length, 0);
    // The target answered, so it is not paused: the next document goes through at once.
    const next = await postInvoice(6);
    await waitFor('delivery', statusOf(next.body.messageId), stateIs('delivered'), LONG);
    assert.deepEqual(
      (await listTargets(s.db.knex)).filter((x) => x.state !== 'closed'),
      [],
    );
  });

  it('reports a redirect with its status and never follows it; the retry goes to the same URL', async () => {
    const elsewhere = new ErpReceiver();
    await elsewhere.start();
    try {
      s.erp.respond = (_r, nth) => (nth === 1 ? { status: 307, headers: { location: elsewhere.url } } : 202);
      const sent = await postInvoice(7);
      const st = await waitFor('delivery after the redirect', statusOf(sent.body.messageId), stateIs('delivered'), LONG);
      const failed = events(st, 'delivery.failed')[0];
      assert.equal(failed?.code, 'GW_DELIVERY_HTTP');
      assert.match(failed?.detail ?? '', /answered HTTP 307/);
      assert.equal(elsewhere.requests.length, 0, 'the redirect was not followed');
      assert.equal(s.erp.requests.length, 2);
    } finally {
      await elsewhere.stop();
    }
  });

  it('pauses a target after failures in a row, sends nothing but one probe per cool-down, and resumes on success', async () => {
    const coolDownMs = 1500;
    await setErpRoute(s.t, ['retry: { backoffMs: 10, backoffMaxMs: 20 }', `breaker: { failures: 3, coolDownMs: ${coolDownMs} }`]);
    let up = false;
    const arrivals: { at: number; up: boolean }[] = [];
    s.erp.respond = () => {
      arrivals.push({ at: Date.now(), up });
      return up ? 202 : 503;
    };
    const first = await postInvoice(7);
    const paused = await waitFor('target.paused', statusOf(first.body.messageId), (x) => events(x, 'target.paused').length === 1, LONG);
    const pausedAt = Date.parse(events(paused, 'target.paused')[0].at);
    assert.match(events(paused, 'target.paused')[0].detail, /erp-http failed 3 times in a row/);
    const [view] = (await listTargets(s.db.knex)).filter((x) => x.targetId === 'erp-http');
    assert.ok(view && ['open', 'probing'].includes(view.state) && view.failures >= 3, JSON.stringify(view));
    const cli = await runCli(['targets'], { env: { DATABASE_URL: s.db.url } });
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^erp-http {2}(open|probing).* failures in a row \d+ .*last GW_DELIVERY_HTTP/m);

    // A document that arrives while the target is paused waits with the others.
    const second = await postInvoice(8);
    assert.equal(arrivals.filter((a) => a.at <= pausedAt).length, 3, 'three failures paused it');
    await waitFor(
      'two failed probes',
      async () => arrivals.length,
      (n) => n >= 5,
      LONG,
    );
    up = true;
    const done = [
      await waitFor('delivery', statusOf(first.body.messageId), stateIs('delivered'), LONG),
      await waitFor('delivery', statusOf(second.body.messageId), stateIs('delivered'), LONG),
    ];
    assert.equal(done.flatMap((d) => events(d, 'target.resumed')).length, 1);
    // While paused, one request per cool-down: each probe came a full cool-down after the failure before it.
    const success = arrivals.findIndex((a) => a.up);
    const probes = arrivals.slice(3, success + 1).map((a) => a.at);
    for (const [i, at] of probes.entries()) {
      assert.ok(
        at - (i === 0 ? pausedAt : (probes[i - 1] as number)) >= coolDownMs - 50,
        `requests while paused came at +${probes.map((p) => p - pausedAt)} ms`,
      );
    }
    // The probe that succeeded resumed the target: the other document followed, one request.
    assert.equal(arrivals.length, success + 2, `${arrivals.length} requests, the successful probe was #${success + 1}`);
    const keys = s.erp.keyCounts();
    assert.equal(keys.size, 2);
    for (const d of done)
      assert.equal(keys.get(d.body.deliveries[0].idempotencyKey), d.body.deliveries[0].attempts, 'every attempt carried the same idempotency key');
    assert.deepEqual(
      (await listTargets(s.db.knex)).filter((x) => x.state !== 'closed' || x.failures > 0),
      [],
    );
  });
});
