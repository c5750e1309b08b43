import assert from 'node:assert/strict';
import { asnFromForm, invoiceFromForm, packRows } from '../../src/pipeline/supplier-forms.js';
import type { PurchaseOrderV1 } from '../../src/canonical/index.js';
import { canonicalMediaType, canonicalOfMediaType, jsonPathOf } from '../../src/pipeline/canonical-form.js';
import { interpret } from '../../src/pipeline/interpret.js';
import type { PartnerProfile } from '../../src/types.js';
import { ERP_ORDER } from '../helpers/orders.js';

const order = ERP_ORDER as PurchaseOrderV1;
/** A canonical message names no profile: the partner's mappings are never read. */
const noProfiles = { mappings: new Map() };
const partner = { id: 'acme-supply', inbound: [] } as unknown as PartnerProfile;

describe('documents that are canonical already (portal forms)', () => {
  it('reads the canonical type from the content type the portal stores, and nothing else', () => {
    assert.deepEqual(canonicalOfMediaType(canonicalMediaType('asn', 1)), { type: 'asn', version: 1 });
    assert.equal(canonicalOfMediaType('application/vnd.gateway.purchase-order.v1+json'), undefined, 'suppliers send no orders');
    assert.equal(canonicalOfMediaType('application/vnd.gateway.asn.v2+json'), undefined);
    assert.equal(canonicalOfMediaType('application/json'), undefined);
  });

  it('accepts a valid canonical ship notice without a profile, with its business keys', () => {
    const asn = {
      shipmentId: 'SH-1',
      shipDate: '2026-11-30',
      orders: [{ purchaseOrderNumber: 'PO-1', items: [{ buyerSku: 'A', quantity: 1, unit: 'each' }] }],
    };
    const r = interpret(Buffer.from(JSON.stringify(asn)), 'json', partner, noProfiles, undefined, canonicalMediaType('asn', 1));
    const [doc] = r.documents;
    assert.deepEqual([doc?.type, doc?.profile, doc?.problems, doc?.keys], ['asn', null, [], { documentNumber: 'SH-1', purchaseOrderNumbers: ['PO-1'] }]);
  });

  it('rejects a broken one with each problem at its JSON path', () => {
    const asn = { shipmentId: 'SH-1', orders: [{ purchaseOrderNumber: 'PO-1', items: [{ buyerSku: 'A', quantity: 'x', unit: 'each' }] }] };
    const r = interpret(Buffer.from(JSON.stringify(asn)), 'json', partner, noProfiles, undefined, canonicalMediaType('asn', 1));
    const problems = r.documents[0]?.problems.map((p) => [p.code, p.location?.jsonPath]);
    assert.deepEqual(problems, [
      ['GW_CANONICAL_INVALID', '$.shipDate'],
      ['GW_CANONICAL_INVALID', '$.orders[0].items[0].quantity'],
    ]);
    assert.equal(r.documents[0]?.canonical, null);
  });

  it('writes JSON paths from pointers', () => {
    assert.equal(jsonPathOf('/orders/0/items/12/packageId'), '$.orders[0].items[12].packageId');
    assert.equal(jsonPathOf('/'), '$');
    assert.equal(jsonPathOf('/a~1b'), '$["a/b"]');
  });
});

describe('supplier forms', () => {
  it('refuses packs that hold more of a line than shipped, beside the line', () => {
    const r = asnFromForm(order, {
      shipmentId: 'S',
      shipDate: '2026-11-30',
      'line.0.qty': '5',
      'pack.0.sscc': '376104250021234569',
      'pack.0.line': '0',
      'pack.0.qty': '6',
    });
    assert.deepEqual(
      r.problems.map((p) => [p.code, p.field]),
      [['GW_PORTAL_FORM', 'line.0.qty']],
    );
  });

  it('offers the pack rows filled in and one empty row, whatever empty rows were posted', () => {
    assert.equal(packRows({}), 1);
    assert.equal(packRows({ 'pack.0.sscc': '376104250021234569', 'pack.0.kind': 'carton', 'pack.1.kind': 'carton', 'pack.1.sscc': '' }), 2);
  });

  it('computes invoice totals from quantities, prices, tax rate and freight', () => {
    const r = invoiceFromForm(order, {
      invoiceNumber: 'I-1',
      invoiceDate: '2026-11-30',
      currency: 'USD',
      'line.0.qty': '24',
      'line.0.price': '1.25',
      'line.1.qty': '',
      taxRate: '10',
      freight: '5',
    });
    assert.deepEqual(r.problems, []);
    const doc = r.document as Record<string, unknown>;
    assert.deepEqual([doc.subtotalAmount, doc.taxAmount, doc.shippingAmount, doc.totalAmount], [30, 3, 5, 38]);
    assert.equal((doc.lines as unknown[]).length, 1, 'a line without quantity is not invoiced');
  });
});
