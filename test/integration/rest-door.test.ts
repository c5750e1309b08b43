import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MAPPINGS } from '../helpers/corpus.js';
import type { TestDatabase } from '../helpers/db.js';
import type { ErpReceiver } from '../helpers/erp.js';
import { ACME_KEY, EXPIRED, gatewaySuite, NORTHWIND_KEY, post, status, SUSPENDED, terminal, type TestGateway, waitFor } from '../helpers/gateway.js';
import { withControl } from '../helpers/x12.js';

const X12 = 'application/edi-x12';
const sample856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));
const sample810 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '810-and-850-two-groups.edi'));
const nwInvoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'));

describe('REST door: real server on a loopback port, real database, real ERP receiver', function () {
  this.timeout(30_000);
  const suite = gatewaySuite();
  let db: TestDatabase;
  let erp: ErpReceiver;
  let t: TestGateway;
  let url: string;
  before(() => ({ db, erp, t, url } = suite));

  const messageCount = async () => Number((await db.knex('messages').count<{ count: string }[]>('* as count'))[0]?.count);

  it('accepts an X12 856 with 202 after storing it, and delivers the canonical ASN to the ERP and the file drop', async () => {
    const res = await post(url, ACME_KEY, X12, sample856, { 'x-correlation-id': 'corr-856-1' });
    assert.equal(res.status, 202);
    const id = res.body.messageId as string;
    assert.equal(res.body.statusUrl, `/v1/messages/${id}`);
    assert.equal(res.headers.get('location'), `/v1/messages/${id}`);
    // Committed before the answer: the raw bytes are in the store, byte for byte.
    const row = await db.knex('messages').where('id', id).first();
    assert.ok(Buffer.from(row.raw).equals(sample856));

    const s = await waitFor('delivery', () => status(url, ACME_KEY, id), terminal);
    assert.equal(s.body.state, 'delivered', JSON.stringify(s.body.timeline));
    assert.equal(s.body.correlationId, 'corr-856-1');
    assert.deepEqual(
      s.body.timeline.map((e: { type: string }) => e.type).filter((x: string) => x !== 'delivered' && x !== 'routed'),
      ['received', 'document.accepted', 'ack.generated', 'interpreted'],
    );
    assert.equal(s.body.timeline.filter((e: { type: string }) => e.type === 'delivered').length, 2);
    assert.equal(s.body.documents[0].canonical.shipmentId, '829716');
    assert.deepEqual(s.body.documents[0].profile, { id: 'acme-supply/856-004010', version: 2 });

    const got = erp.requests.filter((r) => r.body.messageId === id);
    assert.equal(got.length, 1);
    assert.equal(got[0]?.headers['idempotency-key'], `${id}.1.erp-http`);
    assert.equal(got[0]?.headers['x-correlation-id'], 'corr-856-1');
    assert.equal(got[0]?.headers['x-gateway-document-type'], 'asn/v1');
    assert.equal(got[0]?.body.document.shipmentId, '829716');

    const dropped = JSON.parse(await readFile(path.join(t.dataDir, 'erp-drop', 'acme-supply', 'asn', `${id}.1.erp-drop.json`), 'utf8'));
    assert.deepEqual(dropped.document, got[0]?.body.document);
  });

  it('delivers a JSON invoice from the JSON partner, routed by document type', async () => {
    const res = await post(url, NORTHWIND_KEY, 'application/json; charset=utf-8', nwInvoice);
    assert.equal(res.status, 202);
    const s = await waitFor('delivery', () => status(url, NORTHWIND_KEY, res.body.messageId), terminal);
    assert.equal(s.body.state, 'delivered');
    assert.deepEqual(
      s.body.deliveries.map((d: { target: string }) => d.target),
      ['erp-http'],
    );
    assert.equal(s.body.documents[0].canonical.totalAmount, 276);
  });

  it('accepts the good transaction sets of a file and rejects the one it cannot map', async () => {
    const res = await post(url, ACME_KEY, X12, sample810);
    const s = await waitFor('processing', () => status(url, ACME_KEY, res.body.messageId), terminal);
    assert.equal(s.body.state, 'delivered');
    assert.deepEqual(
      s.body.documents.map((d: { state: string; type: string | null }) => `${d.type}:${d.state}`),
      ['invoice:accepted', 'invoice:accepted', 'null:rejected'],
    );
    assert.equal(s.body.documents[2].problems[0].code, 'GW_DOC_TYPE_UNKNOWN');
    assert.equal(erp.requests.filter((r) => r.body.messageId === res.body.messageId).length, 2);
  });

  describe('refuses before storing anything', () => {
    const cases: [string, () => Promise<{ status: number; body: Record<string, any> }>, number, string][] = [
      ['no credentials', () => post(url, undefined, X12, sample856), 401, 'GW_AUTH_MISSING'],
      ['an unknown key', () => post(url, 'gw_acmedemo_WrongSecretWrongSecretWrongSecretWrongSec', X12, sample856), 401, 'GW_AUTH_INVALID'],
      ['a malformed Authorization header', () => post(url, undefined, X12, sample856, { authorization: 'Basic abc' }), 401, 'GW_AUTH_INVALID'],
      ['an expired key', () => post(url, EXPIRED.key, X12, sample856), 401, 'GW_AUTH_INVALID'],
      ['a suspended partner', () => post(url, SUSPENDED.key, X12, sample856), 403, 'GW_PARTNER_INACTIVE'],
      ['an unknown Content-Type', () => post(url, ACME_KEY, 'application/vnd.ms-excel', 'a,b\n1,2\n'), 415, 'GW_REQUEST_MEDIA_TYPE'],
      ['a body over the partner limit', () => post(url, ACME_KEY, X12, Buffer.alloc(65_537, 0x41)), 413, 'GW_REQUEST_TOO_LARGE'],
      ['an empty body', () => post(url, ACME_KEY, X12, ''), 400, 'GW_REQUEST_INVALID'],
    ];
    for (const [what, call, code, errorCode] of cases) {
      it(`${what}: ${code} ${errorCode}`, async () => {
        const before = await messageCount();
        const res = await call();
        assert.equal(res.status, code);
        assert.equal(res.body.error.code, errorCode);
        assert.equal(await messageCount(), before);
      });
    }
  });

  it('shows a partner only its own messages: another partner gets the same 404 as for a missing id', async () => {
    const res = await post(url, ACME_KEY, X12, sample856);
    const theirs = await status(url, NORTHWIND_KEY, res.body.messageId);
    const missing = await status(url, NORTHWIND_KEY, '00000000-0000-4000-8000-000000000000');
    assert.equal(theirs.status, 404);
    assert.equal(missing.status, 404);
    assert.equal(theirs.body.error.code, missing.body.error.code);
    assert.equal((await status(url, NORTHWIND_KEY, 'not-a-uuid')).status, 404);
    assert.equal((await status(url, ACME_KEY, res.body.messageId)).status, 200);
  });

  it('answers a repeated Idempotency-Key with the first message, and refuses the key for different content', async () => {
    const first = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice, { 'idempotency-key': 'nw-inv-2231' });
    const again = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice, { 'idempotency-key': 'nw-inv-2231' });
    assert.equal(first.status, 202);
    assert.equal(again.status, 202);
    assert.equal(again.body.messageId, first.body.messageId);
    assert.equal(again.body.duplicate, true);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    const changed = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice.toString().replace('276.0', '277.0'), { 'idempotency-key': 'nw-inv-2231' });
    assert.equal(changed.status, 422);
    assert.equal(changed.body.error.code, 'GW_IDEMPOTENCY_CONFLICT');
    assert.equal(
      await db
        .knex('messages')
        .where({ partner_id: 'northwind', idempotency_key: 'nw-inv-2231' })
        .count('* as n')
        .first()
        .then((r) => Number(r?.n)),
      1,
    );
  });

  describe('keeps bad input, rejects it with a precise error, delivers nothing and keeps serving', () => {
    const text856 = sample856.toString('latin1');
    const cases: [string, string, string | Buffer, string, (p: any) => void][] = [
      ['a truncated ISA', X12, text856.slice(0, 60), 'GW_X12_ENVELOPE', (p) => assert.equal(p.location.segment, 'ISA')],
      [
        'a wrong SE segment count',
        X12,
        withControl(text856.replace('SE*31*0008', 'SE*30*0008')),
        'GW_X12_SET_TRAILER',
        (p) => {
          assert.deepEqual(
            { segment: p.location.segment, position: p.location.position, element: p.location.element, line: p.location.line },
            { segment: 'SE', position: 31, element: 1, line: 33 },
          );
        },
      ],
      [
        'an interchange from a sender that is not the partner',
        X12,
        withControl(text856.replace('*12*4405197800     *', '*12*9999999999     *')),
        'GW_X12_ENVELOPE',
        (p) => assert.match(p.message, /not an identifier of partner acme-supply/),
      ],
      [
        'an unparseable date',
        X12,
        withControl(text856.replace('DTM*011*20111206', 'DTM*011*20111306')),
        'GW_MAP_TRANSFORM',
        (p) => {
          assert.deepEqual(
            { segment: p.location.segment, position: p.location.position, element: p.location.element },
            { segment: 'DTM', position: 8, element: 2 },
          );
          assert.match(p.message, /20111306.*not a calendar date/);
        },
      ],
      [
        'a unit missing from the code list',
        X12,
        withControl(text856.replace('SN1*1*24*EA', 'SN1*1*24*ZZ')),
        'GW_MAP_TRANSFORM',
        (p) => assert.equal(p.location.rule, 'fields.orders.fields.items.fields.unit'),
      ],
      [
        'invalid JSON',
        'application/json',
        '{"documentType": "invoice", "lines": [',
        'GW_JSON_SYNTAX',
        (p) => assert.deepEqual([p.location.line, p.location.column], [1, 39]),
      ],
      [
        'a JSON document of no known type',
        'application/json',
        '{"documentType": "catalog"}',
        'GW_DOC_TYPE_UNKNOWN',
        (p) => assert.match(p.message, /documentType = "ship-notice"/),
      ],
      [
        'a JSON document that breaks the canonical schema',
        'application/json',
        nwInvoice.toString().replace('"quantity": 12', '"quantity": -12'),
        'GW_CANONICAL_INVALID',
        (p) => {
          assert.equal(p.location.pointer, '/lines/0/quantity');
          assert.equal(p.location.jsonPath, '$.lines[0].quantity');
        },
      ],
    ];
    for (const [what, type, body, code, check] of cases) {
      it(what, async () => {
        const key = type === X12 ? ACME_KEY : NORTHWIND_KEY;
        const res = await post(url, key, type, body);
        assert.equal(res.status, 202);
        const s = await waitFor('rejection', () => status(url, key, res.body.messageId), terminal);
        assert.equal(s.body.state, 'rejected');
        const problems = [...s.body.problems, ...s.body.documents.flatMap((d: { problems: unknown[] }) => d.problems)];
        const problem = problems.find((p: { code: string }) => p.code === code);
        assert.ok(problem, `expected ${code} in ${JSON.stringify(problems)}`);
        check(problem);
        assert.ok(
          s.body.timeline.some((e: { code?: string }) => e.code === code),
          'the timeline names the error',
        );
        assert.equal(s.body.deliveries.length, 0);
        assert.equal(erp.requests.filter((r) => r.body.messageId === res.body.messageId).length, 0);
        const row = await db.knex('messages').where('id', res.body.messageId).first();
        assert.equal(Buffer.from(row.raw).toString('latin1'), Buffer.isBuffer(body) ? body.toString('latin1') : Buffer.from(body).toString('latin1'));
        assert.equal((await fetch(`${url}/healthz`)).status, 200);
      });
    }
  });

  it('keeps an accepted document that no route takes `routed`, never `delivered`, and says why', async () => {
    // The partner manager narrows Northwind's HTTP route to ASNs: invoices now have no route at all.
    const file = path.join(t.partnersDir, 'northwind.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('  - types: [asn, invoice]\n', '  - types: [asn]\n'));
    await t.gw.reload();
    try {
      const res = await post(url, NORTHWIND_KEY, 'application/json', nwInvoice);
      const s = await waitFor(
        'processing',
        () => status(url, NORTHWIND_KEY, res.body.messageId),
        (x) => x.body.state !== 'received',
      );
      assert.equal(s.body.state, 'routed');
      assert.equal(s.body.deliveries.length, 0);
      assert.match(s.body.timeline.find((e: { type: string }) => e.type === 'unrouted').detail, /No route of partner northwind takes invoice/);
    } finally {
      await writeFile(file, original);
      await t.gw.reload();
    }
  });

  it('a reload of broken files is refused with every problem of every file, and the running configuration keeps serving', async () => {
    const files = ['acme-supply', 'globex-office'].map((id) => path.join(t.partnersDir, `${id}.yaml`));
    const before = files.map((f) => readFileSync(f, 'utf8'));
    writeFileSync(files[0] as string, (before[0] as string).replace(/^state: live$/m, 'state: alive'));
    writeFileSync(files[1] as string, (before[1] as string).replace(/^channels: \[rest\]$/m, 'channels: [rest]\ncolour: blue'));
    try {
      await assert.rejects(t.gw.reload(), (e: Error) => {
        const lines = e.message.split('\n');
        assert.match(lines[0] ?? '', /acme-supply\.yaml:\d+:\d+: state must be one of onboarding, testing, live, suspended \(found alive\)/);
        assert.match(lines[1] ?? '', /globex-office\.yaml:\d+:1: unknown property "colour"/);
        assert.equal(lines[2], '2 errors in 2 files');
        return true;
      });
      assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), { status: 'ready' });
    } finally {
      for (const [i, f] of files.entries()) writeFileSync(f, before[i] as string);
      await t.gw.reload();
    }
  });

  it('answers /healthz and /readyz', async () => {
    assert.deepEqual(await (await fetch(`${url}/healthz`)).json(), { status: 'ok' });
    assert.deepEqual(await (await fetch(`${url}/readyz`)).json(), { status: 'ready' });
  });
});
