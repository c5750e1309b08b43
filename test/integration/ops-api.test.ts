import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { explainSearch, type MessageFilter } from '../../src/pipeline/message-search.js';
import { insertChunkedMessage } from '../../src/pipeline/messages.js';
import { stageChunk } from '../../src/pipeline/raw-store.js';
import { addUser } from '../../src/security/users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ACME_KEY, gatewaySuite, NORTHWIND_KEY, post, status, terminal, waitFor } from '../helpers/gateway.js';
import { ADMIN } from '../helpers/security.js';
import { withControl } from '../helpers/x12.js';

const sample = (partner: string, file: string) => readFileSync(path.join(MAPPINGS, partner, 'samples', file), 'utf8');
const X12_856 = sample('acme-supply', '856-004010-cases-xref.edi');
const ASN = sample('northwind', 'asn.json');
const INVOICE = sample('northwind', 'invoice.json');
const PASSWORD = 'operations password 1';

/** A client with the portal's session cookie (signed in through the real form) or none. */
class Session {
  cookie = '';
  constructor(private readonly base: () => string) {}

  async signIn(username: string): Promise<void> {
    const form = await fetch(`${this.base()}/portal/sign-in`);
    const signin = (form.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1] as string;
    const res = await fetch(`${this.base()}/portal/sign-in`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: signin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, username, password: PASSWORD }).toString(),
    });
    assert.equal(res.status, 303, await res.text());
    this.cookie = (res.headers.getSetCookie().find((c) => c.startsWith('gw_session=')) ?? '').split(';')[0] as string;
  }

  call(method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
    return call(this.base(), method, p, body, { cookie: this.cookie, ...headers });
  }
}

async function call(base: string, method: string, p: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}${p}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  const text = bytes.toString('utf8');
  return { status: res.status, headers: res.headers, bytes, body: (text.startsWith('{') ? JSON.parse(text) : {}) as Record<string, any> };
}

describe('operations API (/ops/v1: real server, real PostgreSQL)', function () {
  this.timeout(120_000);
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}` } });
  const admin = (method: string, p: string, body?: unknown) => call(s.url, method, p, body, { authorization: `Bearer ${ADMIN.key}` });
  const search = async (q: Record<string, string>) => (await admin('GET', `/ops/v1/messages?${new URLSearchParams(q)}`)).body;
  const ids: Record<string, string> = {};

  async function send(key: string, type: string, body: string, headers: Record<string, string> = {}) {
    const r = await post(s.url, key, type, body, headers);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await waitFor('a final state', () => status(s.url, key, r.body.messageId), terminal);
    return { id: r.body.messageId as string, correlationId: r.body.correlationId as string };
  }

  before(async () => {
    const now = new Date();
    await addUser(s.db.knex, { username: 'olga', displayName: 'Olga', role: 'operations', partnerId: null }, PASSWORD, now);
    await addUser(s.db.knex, { username: 'sam', displayName: 'Sam', role: 'supplier', partnerId: 'northwind' }, PASSWORD, now);
    s.erp.respond = (req) => (req.raw.toString().includes('REFUSE') ? 400 : 202);
    ids.x12 = (await send(ACME_KEY, 'application/edi-x12', withControl(X12_856, 424242))).id;
    const asn = await send(NORTHWIND_KEY, 'application/json', ASN.replace('NW-SH-10045', 'NW-SH-OPS-1'), { 'idempotency-key': 'ops-asn-key-1' });
    [ids.asn, ids.asnCorrelation] = [asn.id, asn.correlationId];
    ids.invoice = (await send(NORTHWIND_KEY, 'application/json', INVOICE.replace('NW-INV-2231', 'NW-INV-OPS-7'))).id;
    ids.refused = (await send(NORTHWIND_KEY, 'application/json', INVOICE.replace('NW-INV-2231', 'NW-INV-REFUSE-1'))).id;
  });

  describe('search', () => {
    it('finds each message by its business keys, with the fields an operator needs', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ poNumber: 'PO-2026-1187' }, ids.x12 as string],
        [{ documentNumber: 'ASN-77001' }, ids.x12 as string],
        [{ interchangeControl: '424242' }, ids.x12 as string],
        [{ interchangeControl: '000424242' }, ids.x12 as string],
        [{ documentNumber: 'NW-SH-OPS-1' }, ids.asn as string],
        [{ idempotencyKey: 'ops-asn-key-1' }, ids.asn as string],
        [{ correlationId: ids.asnCorrelation as string }, ids.asn as string],
        [{ documentNumber: 'NW-INV-OPS-7' }, ids.invoice as string],
        [{ documentNumber: 'NW-INV-OPS-7', type: 'invoice', partner: 'northwind', state: 'delivered', channel: 'rest' }, ids.invoice as string],
      ];
      for (const [q, id] of cases) {
        const r = await search(q);
        assert.deepEqual(
          r.messages.map((m: { id: string }) => m.id),
          [id],
          JSON.stringify(q),
        );
      }
      const [x12] = (await search({ poNumber: 'PO-2026-1187' })).messages;
      assert.equal(x12.partner, 'acme-supply');
      assert.deepEqual([x12.type, x12.state, x12.documentNumbers, x12.purchaseOrderNumbers], ['asn', 'delivered', ['ASN-77001'], ['PO-2026-1187']]);
      assert.deepEqual(x12.deliveries, { delivered: 2 });
      assert.ok(x12.receivedAt && 'problemCodes' in x12 && 'acknowledgment' in x12);
      assert.deepEqual((await search({ poNumber: 'PO-2026-1187', partner: 'northwind' })).messages, []);
      assert.deepEqual((await search({ documentNumber: 'NW-INV-OPS-7', type: 'asn' })).messages, []);
    });

    it('refuses an unknown filter (a typo would widen the selection) and a forged cursor', async () => {
      const r = await admin('GET', '/ops/v1/messages?poNumbr=1');
      assert.deepEqual([r.status, r.body.error?.code], [400, 'GW_REQUEST_INVALID']);
      const c = await admin('GET', '/ops/v1/messages?cursor=bm9wZQ');
      assert.deepEqual([c.status, c.body.error?.code], [400, 'GW_REQUEST_INVALID']);
    });

    it('pages newest first and returns every message once while messages arrive between pages', async () => {
      const at = new Date('2026-06-01T12:00:00.123456Z');
      const existing = await insertMessages(s.db.knex, 23, () => at); // the same instant: the id breaks ties
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const q: Record<string, string> = { partner: 'pager', limit: '5', ...(cursor ? { cursor } : {}) };
        const page = await search(q);
        seen.push(...page.messages.map((m: { id: string }) => m.id));
        cursor = page.nextCursor;
        await insertMessages(s.db.knex, 2, () => new Date()); // newer ones, arriving meanwhile
        await insertMessages(s.db.knex, 1, () => new Date('2026-05-01T00:00:00Z')); // and one older (a late clock)
      } while (cursor);
      const fromStart = seen.filter((id) => existing.includes(id));
      assert.equal(new Set(seen).size, seen.length, 'no message twice');
      assert.deepEqual(fromStart, [...existing].sort().reverse(), 'every message present at the start, once, newest first (ties by id)');
    });

    it('uses an index for the main filters', async () => {
      const plans: [MessageFilter, RegExp][] = [
        [{}, /messages_received_id/],
        [{ state: 'dead' }, /messages_state_received_id/],
        [{ poNumber: 'PO-1' }, /documents_po_numbers/],
        [{ documentNumber: 'X' }, /documents_document_number/],
        [{ correlationId: 'c' }, /messages_correlation_id/],
        [{ fileName: 'f.edi' }, /messages_file_name/],
        [{ idempotencyKey: 'k' }, /messages_idempotency_key/],
        [{ as2MessageId: '<a@b>' }, /as2_messages_as2_message_id/],
        [{ interchangeControl: '1' }, /x12_interchanges_control/],
      ];
      for (const [filter, index] of plans) {
        // The test tables are tiny, where a sequential scan is cheapest; forbid it to see the index is usable.
        const plan = await s.db.knex.transaction(async (trx) => {
          await trx.raw('SET LOCAL enable_seqscan = off');
          return explainSearch(trx, filter);
        });
        assert.match(plan, index, `${JSON.stringify(filter)}:\n${plan}`);
      }
    });
  });

  describe('who may call', () => {
    it('refuses a supplier session (403), a partner API key (401) and no credentials (401)', async () => {
      const sam = new Session(() => s.url);
      await sam.signIn('sam');
      const bySupplier = await sam.call('GET', '/ops/v1/messages');
      assert.deepEqual([bySupplier.status, bySupplier.body.error?.code], [403, 'GW_PORTAL_ROLE']);
      const byPartnerKey = await call(s.url, 'GET', '/ops/v1/messages', undefined, { authorization: `Bearer ${NORTHWIND_KEY}` });
      assert.deepEqual([byPartnerKey.status, byPartnerKey.body.error?.code], [401, 'GW_AUTH_INVALID']);
      const anonymous = await call(s.url, 'GET', `/ops/v1/messages/${ids.asn}`);
      assert.deepEqual([anonymous.status, anonymous.body.error?.code], [401, 'GW_AUTH_MISSING']);
    });

    it('lets an operations session read, and post only with its form token in X-CSRF-Token', async () => {
      const olga = new Session(() => s.url);
      await olga.signIn('olga');
      assert.equal((await olga.call('GET', `/ops/v1/messages?documentNumber=NW-INV-OPS-7`)).body.messages.length, 1);
      const without = await olga.call('POST', `/ops/v1/messages/${ids.refused}/replay`);
      assert.deepEqual([without.status, without.body.error?.code], [403, 'GW_PORTAL_CSRF']);
      const wrong = await olga.call('POST', `/ops/v1/messages/${ids.refused}/replay`, undefined, { 'x-csrf-token': 'x'.repeat(43) });
      assert.equal(wrong.status, 403);
      assert.equal((await status(s.url, NORTHWIND_KEY, ids.refused as string)).body.state, 'dead', 'nothing replayed');
      const { csrfToken } = (await olga.call('GET', '/ops/v1/whoami')).body;
      const other = await olga.call('POST', `/ops/v1/messages/${ids.invoice}/replay`, undefined, { 'x-csrf-token': csrfToken });
      assert.deepEqual([other.status, other.body.error?.code], [409, 'GW_REPLAY_STATE'], 'the token lets the request through to the replay');
      const audited = await s.db.knex('audit_log').where({ action: 'message.replay', target: `message:${ids.invoice}` });
      assert.deepEqual(
        audited.map((a) => [a.actor, a.outcome]),
        [['portal:olga', 'denied']],
      );
    });
  });

  describe('detail, raw bytes, dead letters and replays', () => {
    it('shows the detail: documents, deliveries with attempts and the last error, timeline', async () => {
      const r = await admin('GET', `/ops/v1/messages/${ids.refused}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.state, 'dead');
      assert.equal(r.body.documents[0].documentNumber, 'NW-INV-REFUSE-1');
      assert.deepEqual([r.body.deliveries[0].state, r.body.deliveries[0].lastError.code], ['dead', 'GW_DELIVERY_REFUSED']);
      assert.ok(r.body.timeline.length >= 3);
      assert.equal((await admin('GET', `/ops/v1/messages/${randomUUID()}`)).status, 404);
    });

    it('lists the ERP-refused delivery among dead letters with its reason', async () => {
      const r = await admin('GET', '/ops/v1/dead-letters?partner=northwind');
      const dead = r.body.deadLetters.find((d: { messageId: string }) => d.messageId === ids.refused);
      assert.ok(dead, JSON.stringify(r.body));
      assert.deepEqual([dead.target, dead.kind, dead.attempts, dead.reason.code], ['erp-http', 'http', 1, 'GW_DELIVERY_REFUSED']);
      assert.match(dead.reason.message, /400/);
    });

    it('downloads the raw bytes unchanged, small and large (SFTP chunks)', async () => {
      const small = await admin('GET', `/ops/v1/messages/${ids.x12}/raw`);
      assert.equal(small.status, 200);
      assert.ok(small.bytes.equals(Buffer.from(withControl(X12_856, 424242))));
      assert.match(small.headers.get('content-type') ?? '', /^application\/edi-x12/);
      assert.match(small.headers.get('content-disposition') ?? '', /^attachment; filename=/);
      const bytes = randomBytes(3 * 1024 * 1024 + 17);
      const id = await chunkedMessage(s.db.knex, bytes, 'big-ops.bin');
      const large = await admin('GET', `/ops/v1/messages/${id}/raw`);
      assert.equal(large.status, 200);
      assert.equal(large.bytes.length, bytes.length);
      assert.ok(large.bytes.equals(bytes), 'same bytes');
      assert.equal(large.headers.get('content-disposition'), 'attachment; filename="big-ops.bin"');
      assert.deepEqual(
        (await search({ fileName: 'big-ops.bin' })).messages.map((m: { id: string }) => m.id),
        [id],
      );
    });

    it('redelivers one message by id as new deliveries with derived keys, audited; replay only re-interprets', async () => {
      const replay = await admin('POST', `/ops/v1/messages/${ids.refused}/replay`);
      assert.deepEqual([replay.status, replay.body.error?.code], [409, 'GW_REPLAY_STATE'], 'a dead delivery is redelivered, not re-interpreted');
      s.erp.respond = () => 202;
      const before = await s.db.knex('deliveries').where('message_id', ids.refused);
      const r = await admin('POST', `/ops/v1/messages/${ids.refused}/redeliver`);
      assert.deepEqual([r.status, r.body.action, r.body.deliveries], [200, 'redeliver', 1], JSON.stringify(r.body));
      await waitFor(
        'redelivery',
        () => status(s.url, NORTHWIND_KEY, ids.refused as string),
        (m) => m.body.state === 'delivered',
      );
      const rows = await s.db.knex('deliveries').where('message_id', ids.refused).orderBy('created_at');
      assert.equal(rows.length, before.length + 1, 'a new row; the dead one keeps its story');
      const [dead, again] = [rows.find((d) => d.state === 'dead'), rows.find((d) => d.redelivery_of)];
      assert.ok(dead && again);
      assert.equal(again.redelivery_of, dead.id);
      assert.equal(again.idempotency_key, `${dead.idempotency_key}:redelivery-1`);
      assert.equal(s.erp.requests.at(-1)?.headers['idempotency-key'], again.idempotency_key, 'the ERP sees the derived key');
      assert.equal(s.erp.requests.at(-1)?.body.documentId, dead.document_id, 'and the same document');
      const dl = await admin('GET', '/ops/v1/dead-letters?partner=northwind');
      assert.ok(!dl.body.deadLetters.some((d: { messageId: string }) => d.messageId === ids.refused), 'no longer a dead letter');
      const audited = await s.db.knex('audit_log').whereIn('action', ['message.replay', 'message.redeliver']).andWhere('target', `message:${ids.refused}`);
      assert.deepEqual(audited.map((a) => [a.action, a.actor, a.outcome]).sort(), [
        ['message.redeliver', 'admin:admintest', 'ok'],
        ['message.replay', 'admin:admintest', 'denied'],
      ]);
      // Delivered: sent again on request (the ERP lost it), with the next derived key.
      const twice = await admin('POST', `/ops/v1/messages/${ids.refused}/redeliver`);
      assert.deepEqual([twice.status, twice.body.deliveries], [200, 1]);
      await waitFor(
        'second redelivery',
        () => status(s.url, NORTHWIND_KEY, ids.refused as string),
        (m) => m.body.state === 'delivered',
      );
      assert.equal(s.erp.requests.at(-1)?.headers['idempotency-key'], `${dead.idempotency_key}:redelivery-2`);
    });

    it('redelivers and replays by filter only when confirmed, each message audited, answering each outcome', async () => {
      s.erp.respond = (req) => (req.raw.toString().includes('REFUSE') ? 400 : 202);
      const dead = [];
      for (const n of [2, 3]) dead.push((await send(NORTHWIND_KEY, 'application/json', INVOICE.replace('NW-INV-2231', `NW-INV-REFUSE-${n}`))).id);
      const rejected = (await send(NORTHWIND_KEY, 'application/json', '{"documentType":"ship-notice"}')).id;
      const filter = { partner: 'northwind', state: 'dead' };
      const unconfirmed = await admin('POST', '/ops/v1/messages/redeliver', { filter });
      assert.deepEqual([unconfirmed.status, unconfirmed.body.error?.code], [400, 'GW_REQUEST_INVALID']);
      assert.equal((await admin('POST', '/ops/v1/messages/redeliver', { confirm: true, filter: {} })).status, 400, 'no filter');
      assert.equal((await admin('POST', '/ops/v1/messages/replay', { confirm: true, filter: { sate: 'dead' } })).status, 400, 'a typo');
      s.erp.respond = () => 202;
      const r = await admin('POST', '/ops/v1/messages/redeliver', { confirm: true, filter });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.outcomes.map((o: { messageId: string; outcome: string }) => [o.messageId, o.outcome]).sort(),
        dead.map((id) => [id, 'redeliver']).sort(),
      );
      assert.equal(r.body.more, false);
      for (const id of dead)
        await waitFor(
          'redelivery',
          () => status(s.url, NORTHWIND_KEY, id),
          (m) => m.body.state === 'delivered',
        );
      const again = await admin('POST', '/ops/v1/messages/replay', { confirm: true, filter: { partner: 'northwind', documentNumber: 'NW-SH-OPS-1' } });
      // (delivered: nothing to interpret again)
      assert.deepEqual(
        again.body.outcomes.map((o: { outcome: string; code: string }) => [o.outcome, o.code]),
        [['refused', 'GW_REPLAY_STATE']],
      );
      const reinterpret = await admin('POST', '/ops/v1/messages/replay', { confirm: true, filter: { partner: 'northwind', state: 'rejected' } });
      assert.ok(reinterpret.body.outcomes.some((o: { messageId: string; outcome: string }) => o.messageId === rejected && o.outcome === 'reinterpret'));
      await waitFor('interpreted again', () => status(s.url, NORTHWIND_KEY, rejected), terminal);
      const audited = await s.db.knex('audit_log').where('action', 'like', 'message.%').andWhere('actor', 'admin:admintest');
      for (const id of dead)
        assert.ok(audited.some((a) => a.action === 'message.redeliver' && a.target === `message:${id}` && a.outcome === 'ok' && a.details.bulk));
      assert.ok(audited.some((a) => a.action === 'message.replay' && a.target === `message:${rejected}` && a.outcome === 'ok' && a.details.bulk));
      assert.equal(audited.filter((a) => a.action === 'message.replay.bulk').length, 2);
      assert.equal(audited.filter((a) => a.action === 'message.redeliver.bulk').length, 1);
    });

    it('lists late work: overdue acknowledgments', async () => {
      const [late] = await insertMessages(s.db.knex, 1, () => new Date(), { direction: 'outbound', doc_type: '850', ack_status: 'overdue' });
      const r = await admin('GET', '/ops/v1/stuck?olderThanMinutes=30');
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.overdueAcknowledgments.map((a: { messageId: string }) => a.messageId),
        [late],
      );
      assert.ok(Array.isArray(r.body.pastDue) && Array.isArray(r.body.awaitingAnswer));
    });
  });
});

/** Stored messages of a partner no profile names (so no loop touches them), received at `at()`; their ids. */
async function insertMessages(knex: Knex, n: number, at: () => Date, extra: Record<string, unknown> = {}): Promise<string[]> {
  const rows = Array.from({ length: n }, () => {
    const id = randomUUID();
    return {
      id,
      partner_id: 'pager',
      channel: 'rest',
      content_type: 'application/json',
      format: 'json',
      raw: Buffer.from('{}'),
      size_bytes: 2,
      sha256: createHash('sha256').update('{}').digest('hex'),
      correlation_id: id,
      state: 'delivered',
      received_at: at(),
      ...extra,
    };
  });
  await knex('messages').insert(rows);
  return rows.map((r) => r.id);
}

/** A file as the SFTP door stores it: staged in 1 MiB chunks, committed as a message whose raw is NULL. */
async function chunkedMessage(knex: Knex, bytes: Buffer, fileName: string): Promise<string> {
  const id = randomUUID();
  await knex.transaction(async (trx) => {
    for (let at = 0; at < bytes.length; at += 1 << 20) await stageChunk(trx, id, at, bytes.subarray(at, Math.min(at + (1 << 20), bytes.length)));
    await insertChunkedMessage(trx, {
      id,
      partner_id: 'pager',
      channel: 'sftp',
      content_type: 'application/octet-stream',
      format: 'x12',
      size_bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      correlation_id: id,
      file_name: fileName,
      scopes: null,
    });
  });
  return id;
}
