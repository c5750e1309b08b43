import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseEdifact } from '../../src/formats/edifact/parse.js';
import { copyConfig } from '../helpers/config.js';
import { MAPPINGS } from '../helpers/corpus.js';
import type { TestDatabase } from '../helpers/db.js';
import { gatewaySuite } from '../helpers/gateway.js';
import { sendOrder } from '../helpers/orders.js';

const ORDER = JSON.parse(readFileSync(path.join(MAPPINGS, 'edifact-standard', 'samples', 'outbound', 'purchase-order.json'), 'utf8'));
const RENDERED = readFileSync(path.join(MAPPINGS, 'edifact-standard', 'samples', 'outbound', 'purchase-order.json.orders-d96a.expected.edifact'), 'utf8');

describe('outbound purchase orders: ERP → EDIFACT ORDERS D.96A → the demo EDIFACT partner', function () {
  this.timeout(30_000);
  // The repository's demo partner alone in its partners folder, the certificates beside it.
  const config = copyConfig(['nordlicht']);
  const suite = gatewaySuite({ env: { PARTNERS_DIR: config.partnersDir } });
  let db: TestDatabase;
  let url: string;
  before(() => ({ db, url } = suite));
  after(() => config.remove());

  const stored = async (id: string) =>
    (await db.knex('messages').select('raw', 'format', 'doc_type', 'file_name').where({ id }).first()) as Record<string, any>;

  it('renders the order as ORDERS in a UNB envelope from our id to the partner, control references from the outbound counters', async () => {
    const first = await sendOrder(url, ORDER, {}, undefined, 'nordlicht');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal(first.body.format, 'edifact');
    const row = await stored(first.body.messageId);
    assert.deepEqual([row.format, row.doc_type, row.file_name], ['edifact', 'ORDERS', `ORDERS_${first.body.interchangeControl}_${first.body.messageId}.edi`]);
    const ic = parseEdifact(row.raw);
    assert.deepEqual(ic.problems, []);
    assert.deepEqual(
      [ic.sender, ic.recipient, ic.controlRef],
      [{ id: '5412345000013', qualifier: '14' }, { id: '4012345000009', qualifier: '14' }, first.body.interchangeControl],
    );
    const [m] = ic.messages;
    assert.deepEqual([m?.ref, m?.type, m?.version, m?.release, m?.agency, m?.problems], [first.body.setControl, 'ORDERS', 'D', '96A', 'UN', []]);
    const body = String(row.raw)
      .split('\n')
      .filter((l) => !/^(UNB|UNH|UNT|UNZ)\+/.test(l) && l);
    assert.deepEqual(body, RENDERED.trim().split('\n'), 'the body is what the profile renders (contract sample)');

    const second = await sendOrder(url, { ...ORDER, purchaseOrderNumber: 'PO-2026-2211' }, {}, undefined, 'nordlicht');
    assert.equal(second.status, 201);
    assert.equal(Number(second.body.interchangeControl), Number(first.body.interchangeControl) + 1);
    assert.equal(Number(second.body.setControl), Number(first.body.setControl) + 1);
  });

  it('answers a repeated Idempotency-Key with the first order and its control references', async () => {
    const headers = { 'idempotency-key': 'erp-po-edifact-1' };
    const a = await sendOrder(url, { ...ORDER, purchaseOrderNumber: 'PO-2026-2212' }, headers, undefined, 'nordlicht');
    const b = await sendOrder(url, { ...ORDER, purchaseOrderNumber: 'PO-2026-2212' }, headers, undefined, 'nordlicht');
    assert.equal(a.status, 201);
    assert.equal(b.body.duplicate, true);
    assert.deepEqual([b.body.messageId, b.body.interchangeControl, b.body.setControl], [a.body.messageId, a.body.interchangeControl, a.body.setControl]);
  });
});
