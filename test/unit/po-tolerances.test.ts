import assert from 'node:assert/strict';
import type { AsnV1, InvoiceV1, PoAckV1 } from '../../src/canonical/types.js';
import { applyChanges, evaluateDocument, type LinkedDocument, type PoState, poStatus } from '../../src/pipeline/po-tolerances.js';
import type { Tolerances } from '../../src/types.js';

/** A PO of two lines as the ledger holds it after the supplier confirmed both, nothing shipped yet. */
function order(over: Partial<PoState['lines'][number]> = {}): PoState {
  const line = (n: string, ordered: number, unitPrice: number, sku: string) => ({
    lineNumber: n,
    item: { vendorSku: sku },
    unitPrice,
    ordered,
    confirmed: ordered,
    confirmedDate: '2026-12-01',
    shipped: 0,
    invoiced: 0,
  });
  return { id: 'po-1', number: 'PO-1', lines: [{ ...line('1', 100, 2, 'A'), ...over }, line('2', 10, 50, 'B')] };
}

const orders = (po = order()) => new Map([[po.number, po]]);

const asn = (items: AsnV1['orders'][number]['items'], shipDate = '2026-12-01', po = 'PO-1'): LinkedDocument => ({
  type: 'asn',
  number: 'ASN-1',
  canonical: { shipmentId: 'ASN-1', shipDate, orders: [{ purchaseOrderNumber: po, items }] },
});

const invoice = (lines: Partial<InvoiceV1['lines'][number]>[], po: string | null = 'PO-1', number = 'INV-1'): LinkedDocument => ({
  type: 'invoice',
  number,
  canonical: {
    invoiceNumber: number,
    invoiceDate: '2026-12-02',
    ...(po ? { purchaseOrderNumber: po } : {}),
    currency: 'USD',
    totalAmount: 1,
    lines: lines.map((l) => ({ quantity: 1, unit: 'each' as const, unitPrice: 2, ...l })),
  },
});

const ack = (lines: PoAckV1['lines'], status: PoAckV1['status'] = 'accepted-with-changes'): LinkedDocument => ({
  type: 'po-ack',
  number: 'PO-1',
  canonical: { purchaseOrderNumber: 'PO-1', ackDate: '2026-11-24', status, ...(lines ? { lines } : {}) },
});

const RULES: Tolerances = {
  quantityOver: { percent: 5, action: 'deliver' },
  quantityUnder: { percent: 10, action: 'deliver' },
  shipDateLate: { days: 2, action: 'deliver' },
  unitPrice: { percent: 2, action: 'hold' },
  invoiceAboveShipped: { percent: 0, action: 'hold' },
  unknownPo: { action: 'deliver' },
  duplicateInvoice: { action: 'hold' },
};
const fresh = { invoiceSeen: false };
const rules = (r: ReturnType<typeof evaluateDocument>) => r.findings.map((f) => [f.rule, f.action, f.line]);

describe('tolerance evaluation (pure)', () => {
  it('within tolerance: links quantities per line, no finding', () => {
    const r = evaluateDocument(
      asn([
        { lineNumber: '001', quantity: 104, unit: 'each' },
        { vendorSku: 'B', quantity: 10, unit: 'each' },
      ]),
      orders(),
      RULES,
      fresh,
    );
    assert.deepEqual(r.findings, []);
    assert.equal(r.hold, false);
    assert.deepEqual(r.links, [
      {
        poNumber: 'PO-1',
        lines: [
          { line: '1', shipped: 104 },
          { line: '2', shipped: 10 },
        ],
      },
    ]);
  });

  it('over-shipping counts what shipped before; the finding carries the facts', () => {
    const r = evaluateDocument(asn([{ lineNumber: '1', quantity: 30, unit: 'each' }]), orders(order({ shipped: 80 })), RULES, fresh);
    assert.deepEqual(rules(r), [['quantity-over', 'deliver', '1']]);
    assert.deepEqual(r.findings[0]?.facts, { expected: 100, shippedBefore: 80, shipped: 110, percent: 10 });
    assert.equal(r.hold, false);
  });

  it('a po-ack confirming less than ordered (a rejected line confirms 0) is under tolerance', () => {
    const po = order({ confirmed: null, confirmedDate: null });
    const r = evaluateDocument(
      ack([
        { lineNumber: '1', quantity: 100, unit: 'each', acknowledgedQuantity: 95 },
        { lineNumber: '2', quantity: 10, unit: 'each', status: 'rejected' },
      ]),
      orders(po),
      RULES,
      fresh,
    );
    assert.deepEqual(rules(r), [['quantity-under', 'deliver', '2']]);
    assert.deepEqual(r.links[0]?.lines, [
      { line: '1', confirmed: 95 },
      { line: '2', confirmed: 0 },
    ]);
  });

  it('ships later than confirmed by more than the allowed days', () => {
    const r = evaluateDocument(asn([{ lineNumber: '1', quantity: 10, unit: 'each' }], '2026-12-04'), orders(), RULES, fresh);
    assert.deepEqual(rules(r), [['ship-date-late', 'deliver', '1']]);
    assert.equal(r.findings[0]?.facts.daysLate, 3);
    assert.deepEqual(rules(evaluateDocument(asn([{ lineNumber: '1', quantity: 10, unit: 'each' }], '2026-12-03'), orders(), RULES, fresh)), []);
  });

  it('a unit price off by more than the percent holds the invoice; within it does not', () => {
    const off = evaluateDocument(invoice([{ lineNumber: '1', unitPrice: 2.1 }]), orders(order({ shipped: 1 })), RULES, fresh);
    assert.deepEqual(rules(off), [['unit-price', 'hold', '1']]);
    assert.equal(off.hold, true);
    assert.deepEqual(off.findings[0]?.facts, { ordered: 2, found: 2.1, percent: 5 });
    assert.equal(evaluateDocument(invoice([{ lineNumber: '1', unitPrice: 2.04 }]), orders(order({ shipped: 1 })), RULES, fresh).hold, false);
  });

  it('invoicing more than shipped', () => {
    const r = evaluateDocument(invoice([{ lineNumber: '1', quantity: 6 }]), orders(order({ shipped: 10, invoiced: 5 })), RULES, fresh);
    assert.deepEqual(rules(r), [['invoice-above-shipped', 'hold', '1']]);
    assert.deepEqual(r.findings[0]?.facts, { shipped: 10, invoicedBefore: 5, invoiced: 11 });
  });

  it('a duplicate invoice number is found from the context, whatever else holds', () => {
    const r = evaluateDocument(invoice([{ lineNumber: '1', quantity: 1 }]), orders(order({ shipped: 1 })), RULES, { invoiceSeen: true });
    assert.deepEqual(rules(r), [['duplicate-invoice', 'hold', null]]);
    assert.equal(r.findings[0]?.poNumber, 'PO-1');
    assert.equal(r.hold, true);
    assert.deepEqual(r.findings[0]?.facts, { invoiceNumber: 'INV-1' });
    assert.deepEqual(rules(evaluateDocument(invoice([{ lineNumber: '1', quantity: 1 }]), orders(order({ shipped: 1 })), {}, { invoiceSeen: true })), []);
  });

  it('an unknown PO (once per document), an invoice naming none, and an unknown line', () => {
    const unknown = evaluateDocument(
      asn(
        [
          { lineNumber: '1', quantity: 1, unit: 'each' },
          { lineNumber: '2', quantity: 1, unit: 'each' },
        ],
        '2026-12-01',
        'PO-9',
      ),
      orders(),
      RULES,
      fresh,
    );
    assert.deepEqual(rules(unknown), [['unknown-po', 'deliver', null]]);
    assert.deepEqual(unknown.findings[0]?.facts, { purchaseOrderNumber: 'PO-9' });
    assert.deepEqual(unknown.links, []);
    const none = evaluateDocument(invoice([{ lineNumber: '1' }], null), orders(), RULES, fresh);
    assert.deepEqual([none.findings[0]?.rule, none.findings[0]?.message], ['unknown-po', 'The document names no purchase order.']);
    const line = evaluateDocument(asn([{ lineNumber: '7', vendorSku: 'Z', quantity: 1, unit: 'each' }]), orders(), RULES, fresh);
    assert.deepEqual(rules(line), [['unknown-po', 'deliver', '7']]);
    assert.deepEqual(rules(evaluateDocument(asn([{ lineNumber: '1', quantity: 1, unit: 'each' }], '2026-12-01', 'PO-9'), orders(), {}, fresh)), []);
  });

  it('the status follows the lines: acknowledged, partially shipped, shipped, invoiced', () => {
    const unconfirmed = order({ confirmed: null });
    unconfirmed.lines[1] = { ...(unconfirmed.lines[1] as PoState['lines'][number]), confirmed: null };
    assert.equal(poStatus(unconfirmed), 'ordered');
    let po = order();
    assert.equal(poStatus(po), 'acknowledged');
    po = applyChanges(po, [{ line: '1', shipped: 100 }]);
    assert.equal(poStatus(po), 'partially-shipped');
    po = applyChanges(po, [{ line: '2', shipped: 10 }]);
    assert.equal(poStatus(po), 'shipped');
    assert.equal(poStatus(applyChanges(po, [{ line: '2', invoiced: 1 }])), 'invoiced');
  });
});
