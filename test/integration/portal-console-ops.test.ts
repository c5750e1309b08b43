import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { explainStats } from '../../src/pipeline/ops-stats.js';
import { addUser } from '../../src/security/users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { gatewaySuite, NORTHWIND_KEY, post, status, terminal, waitFor } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';
import { ADMIN } from '../helpers/security.js';

const INVOICE = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8');
const PASSWORD = 'console password 1';

/** Signs in through the real form; the session cookie. */
async function signIn(base: string, username: string): Promise<string> {
  const person = new PortalClient(() => base);
  await person.signIn(username, PASSWORD);
  return `gw_session=${person.jar.get('gw_session')}`;
}

describe('operations console: dead letters, stuck work, charts (real server, real PostgreSQL)', function () {
  this.timeout(120_000);
  // A long backoff: the delivery the ERP answers 503 stays queued while the tests look at the queue.
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, DELIVERY_BACKOFF_MS: '600000', DELIVERY_BACKOFF_MAX_MS: '600000' } });
  const ids: Record<string, string> = {};
  let olga = '';
  const get = async (p: string, cookie = olga) => {
    const res = await fetch(`${s.url}${p}`, { headers: { cookie }, redirect: 'manual' });
    return { status: res.status, text: await res.text() };
  };
  const admin = async (p: string) => {
    const res = await fetch(`${s.url}${p}`, { headers: { authorization: `Bearer ${ADMIN.key}` } });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  async function send(body: string, final = true): Promise<string> {
    const r = await post(s.url, NORTHWIND_KEY, 'application/json', body);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    if (final) await waitFor('a final state', () => status(s.url, NORTHWIND_KEY, r.body.messageId), terminal);
    return r.body.messageId as string;
  }

  before(async () => {
    const now = new Date();
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, now);
    await addUser(s.db.knex, { username: 'sam', displayName: 'Sam', role: 'supplier', partnerId: 'northwind' }, PASSWORD, now);
    s.erp.respond = (req) => (req.raw.toString().includes('REFUSE') ? 400 : req.raw.toString().includes('HOLD') ? 503 : 202);
    ids.ok1 = await send(INVOICE.replace('NW-INV-2231', 'NW-INV-OK-1'));
    ids.ok2 = await send(INVOICE.replace('NW-INV-2231', 'NW-INV-OK-2'));
    ids.dead1 = await send(INVOICE.replace('NW-INV-2231', 'NW-INV-REFUSE-1'));
    ids.dead2 = await send(INVOICE.replace('NW-INV-2231', 'NW-INV-REFUSE-2'));
    ids.rejected = await send('{"documentType":"ship-notice"}');
    ids.held = await send(INVOICE.replace('NW-INV-2231', 'NW-INV-HOLD-1'), false);
    await waitFor(
      'the held delivery tried once and queued again',
      () => s.db.knex('deliveries').first('state', 'attempts').where('message_id', ids.held),
      (d) => d?.state === 'pending' && d.attempts === 1,
    );
    olga = await signIn(s.url, 'olga');
  });

  it('refuses the console pages to a supplier with the role page, and sends the signed-out to sign in', async () => {
    const sam = await signIn(s.url, 'sam');
    for (const p of ['/portal/console/dead-letters', '/portal/console/stuck', '/portal/console/charts']) {
      const r = await get(p, sam);
      assert.equal(r.status, 403, p);
      assert.match(r.text, /GW_PORTAL_ROLE/);
      assert.match(r.text, /This page is for operations, admin; sam is supplier/);
      assert.equal((await get(p, '')).status, 303);
    }
    const api = await fetch(`${s.url}/ops/v1/stats`, { headers: { cookie: sam } });
    assert.equal(api.status, 403);
  });

  it('lists the dead letters with their reason in words, pages them, and offers the bulk form with the filter', async () => {
    const r = await get('/portal/console/dead-letters?partner=northwind');
    assert.equal(r.status, 200);
    for (const id of [ids.dead1, ids.dead2]) assert.ok(r.text.includes(`href="/portal/console/messages/${id}"`), id);
    assert.ok(!r.text.includes(`/portal/console/messages/${ids.ok1}"`));
    assert.match(r.text, /NW-INV-REFUSE-1/);
    assert.match(r.text, /<code>GW_DELIVERY_REFUSED<\/code>[^<]*400/);
    assert.match(r.text, /Refused for good after 1 attempt\(s\): the ERP endpoint refused the document with a 4xx status/);
    const form = /<form method="post" action="\/portal\/console\/bulk">[\s\S]*?<\/form>/.exec(r.text)?.[0] ?? '';
    assert.match(form, /name="state" value="dead"/);
    assert.match(form, /name="partner" value="northwind"/);
    assert.match(form, /name="csrf" value="[^"]+"/);
    assert.match(form, /<option value="redeliver">/);
    assert.match(form, /<option value="replay">/);
    assert.doesNotMatch(r.text, /Next page/);

    const none = await get('/portal/console/dead-letters?partner=acme-supply');
    assert.match(none.text, /No dead letters\./);
    assert.doesNotMatch(none.text, /action="\/portal\/console\/bulk"/);
  });

  it('pages dead letters with "Next page", keeping the filter', async () => {
    const first = await admin('/ops/v1/dead-letters?partner=northwind&limit=1');
    assert.ok(first.body.nextCursor);
    // 50 a page on the console: two fit one page, so the API's page of one shows the link's shape.
    const r = await get(`/portal/console/dead-letters?partner=northwind&target=erp-http&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    assert.equal(r.status, 200);
    assert.ok(r.text.includes(`/portal/console/messages/${ids.dead1}"`), 'the older one on the next page');
    assert.ok(!r.text.includes(`/portal/console/messages/${ids.dead2}"`), 'the newer one was on the first page');
    assert.match(r.text, /The target filter does not narrow it/);
  });

  it('shows stuck work of each kind with its reason in words and a link to the message', async () => {
    const knex = s.db.knex;
    const hourAgo = new Date(Date.now() - 3_600_000);
    await knex('messages').where('id', ids.ok1).update({ ack_status: 'overdue', ack_due_at: hourAgo });
    const docId = (await knex('deliveries').first('document_id').where('message_id', ids.ok2)).document_id;
    const waitingId = randomUUID();
    await knex('deliveries').insert({
      id: waitingId,
      document_id: docId,
      message_id: ids.ok2,
      partner_id: 'northwind',
      target_id: 'as2:northwind',
      target: { kind: 'as2', id: 'as2:northwind' },
      idempotency_key: `stuck-${waitingId}`,
      state: 'waiting',
      attempts: 1,
      max_attempts: 4,
      next_attempt_at: new Date(Date.now() + 86_400_000),
      updated_at: hourAgo,
    });
    try {
      const r = await get('/portal/console/stuck?olderThanMinutes=15');
      assert.equal(r.status, 200);
      assert.match(r.text, /No delivery is past due\./, 'the loop runs: nothing is past due');
      assert.ok(r.text.includes(`/portal/console/messages/${ids.ok2}"`));
      assert.match(r.text, /its answer \(an asynchronous AS2 MDN\) has been awaited since [\d-]+ [\d:]+ UTC, more than 15 minute\(s\)/);
      assert.ok(r.text.includes(`/portal/console/messages/${ids.ok1}"`));
      assert.match(r.text, /the partner&#39;s acknowledgment was due by [\d-]+ [\d:]+ UTC and has not come/);
      const later = await get('/portal/console/stuck?olderThanMinutes=120');
      assert.match(later.text, /No answer is awaited that long\./);
    } finally {
      await knex('deliveries').where('id', waitingId).del();
      await knex('messages').where('id', ids.ok1).update({ ack_status: null, ack_due_at: null });
    }
  });

  it('answers the stats the traffic predicts: received, rejected, delivered, latency, queue', async () => {
    for (const window of ['24h', '30d']) {
      const r = await admin(`/ops/v1/stats?window=${window}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const b = r.body;
      assert.equal(b.buckets.length, window === '24h' ? 24 : 30);
      const sum = (k: string) => b.buckets.reduce((n: number, x: Record<string, number>) => n + (x[k] ?? 0), 0);
      assert.deepEqual([sum('received'), sum('rejected'), sum('delivered')], [6, 1, 2], window);
      assert.equal(b.partners.length, 1);
      const nw = b.partners[0];
      assert.deepEqual([nw.partner, nw.received, nw.rejected, nw.delivered], ['northwind', 6, 1, 2]);
      assert.ok(nw.p50Ms >= 0 && nw.p95Ms >= nw.p50Ms && nw.p95Ms < 60_000, JSON.stringify(nw));
      assert.deepEqual(
        b.queue.map((q: { target: string; pending: number }) => [q.target, q.pending]),
        [['erp-http', 1]],
      );
    }
    const other = await admin('/ops/v1/stats?partner=acme-supply');
    assert.equal(other.body.partners.length, 0);
    const bad = await admin('/ops/v1/stats?window=7d');
    assert.equal(bad.status, 400);
  });

  it('draws the charts as SVG, each with its title, description and table of numbers', async () => {
    const r = await get('/portal/console/charts?window=24h');
    assert.equal(r.status, 200);
    const figures = r.text.match(/<figure>[\s\S]*?<\/figure>/g) ?? [];
    assert.equal(figures.length, 5);
    for (const f of figures) {
      assert.match(f, /<svg [^>]*role="img" aria-labelledby="(\w+)-title \1-desc"/);
      assert.match(f, /<title id="\w+-title">[^<]+<\/title><desc id="\w+-desc">[^<]+<\/desc>/);
      assert.match(f, /<details><summary>[^<]+<\/summary>[\s\S]*<table>/);
    }
    assert.match(r.text, /<th scope="row">northwind<\/th><td>6<\/td><td>1<\/td><td>2<\/td>/);
    assert.match(r.text, /<th scope="row">erp-http<\/th><td>1<\/td>/);
    assert.match(r.text, /<polyline /);
    assert.doesNotMatch(r.text, /<script/);
  });

  it('counts the hours not rolled up through the inbound index alone, not a scan of every message', async () => {
    // VACUUM marks the pages all-visible, as they are at scale: what makes an index-only scan pay.
    await s.db.knex.raw('VACUUM ANALYZE messages');
    const plans = await s.db.knex.transaction(async (trx) => {
      await trx.raw('SET LOCAL enable_seqscan = off'); // a tiny table is cheaper to scan; the plan that matters is the one at scale
      return explainStats(trx, '30d');
    });
    assert.match(plans[0] ?? '', /Index Only Scan using messages_inbound_received/, plans[0]);
  });
});
