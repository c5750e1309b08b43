import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { canonicalMarkdown } from '../../src/canonical/docs.js';
import { REPO } from '../helpers/corpus.js';
import { CANONICAL_SCHEMAS, validateCanonical } from '../../src/canonical/index.js';
import type {
  AsnItemV1,
  AsnV1,
  InventoryItemV1,
  InventoryQuantityV1,
  InventoryV1,
  InvoiceLineV1,
  InvoiceV1,
  Party,
  PoAckLineV1,
  PoAckV1,
  PriceListItemV1,
  PriceListV1,
  PurchaseOrderLineV1,
  PurchaseOrderV1,
} from '../../src/canonical/types.js';

/**
 * For each canonical shape, a table of its fields and whether each is required. `satisfies` makes
 * the compiler (npm run typecheck) hold the table to the TypeScript type; the tests hold it to the
 * JSON Schema. So the types and the schemas cannot drift apart silently.
 */
// biome-ignore lint/complexity/noBannedTypes: `{} extends Pick<T, K>` is how a type tells an optional key
type Fields<T> = { [K in keyof T]-?: {} extends Pick<T, K> ? false : true };

const asn = {
  shipmentId: true,
  purpose: false,
  shipDate: true,
  shipDateTime: false,
  shipTime: false,
  deliveryDate: false,
  billOfLading: false,
  trackingNumber: false,
  carrier: false,
  totals: false,
  shipFrom: false,
  shipTo: false,
  orders: true,
} satisfies Fields<AsnV1>;
const asnItem = {
  lineNumber: false,
  buyerSku: false,
  vendorSku: false,
  upc: false,
  ndc: false,
  description: false,
  quantity: true,
  unit: true,
  lot: false,
  expirationDate: false,
  packageId: false,
  supplierQuantity: false,
  supplierUnit: false,
} satisfies Fields<AsnItemV1>;
const invoice = {
  invoiceNumber: true,
  invoiceDate: true,
  purchaseOrderNumber: false,
  purchaseOrderDate: false,
  currency: true,
  terms: false,
  seller: false,
  buyer: false,
  remitTo: false,
  shipTo: false,
  lines: true,
  subtotalAmount: false,
  taxAmount: false,
  shippingAmount: false,
  handlingAmount: false,
  totalAmount: true,
} satisfies Fields<InvoiceV1>;
const invoiceLine = {
  lineNumber: false,
  buyerSku: false,
  vendorSku: false,
  upc: false,
  description: false,
  purchaseOrderNumber: false,
  quantity: true,
  unit: true,
  unitPrice: true,
  lineAmount: false,
  taxAmount: false,
  supplierQuantity: false,
  supplierUnit: false,
  supplierUnitPrice: false,
} satisfies Fields<InvoiceLineV1>;
const party = {
  name: false,
  id: false,
  idQualifier: false,
  street: false,
  city: false,
  region: false,
  postalCode: false,
  country: false,
} satisfies Fields<Party>;

const po = {
  purchaseOrderNumber: true,
  purpose: false,
  orderType: false,
  orderDate: true,
  currency: false,
  requestedDeliveryDate: false,
  requestedShipDate: false,
  terms: false,
  notes: false,
  buyer: false,
  vendor: false,
  shipTo: false,
  billTo: false,
  carrier: false,
  lines: true,
  totalAmount: false,
} satisfies Fields<PurchaseOrderV1>;
const poLine = {
  lineNumber: false,
  buyerSku: false,
  vendorSku: false,
  upc: false,
  description: false,
  quantity: true,
  unit: true,
  unitPrice: false,
  requestedDeliveryDate: false,
} satisfies Fields<PurchaseOrderLineV1>;
const poAck = {
  purchaseOrderNumber: true,
  purchaseOrderDate: false,
  ackDate: true,
  purpose: false,
  status: true,
  orderReference: false,
  scheduledShipDate: false,
  scheduledDeliveryDate: false,
  vendor: false,
  shipTo: false,
  lines: false,
} satisfies Fields<PoAckV1>;
const poAckLine = {
  lineNumber: false,
  buyerSku: false,
  vendorSku: false,
  upc: false,
  description: false,
  quantity: true,
  unit: true,
  unitPrice: false,
  status: false,
  acknowledgedQuantity: false,
  scheduledDate: false,
} satisfies Fields<PoAckLineV1>;
const inventory = { reportId: false, reportDate: true, supplier: false, location: false, items: true } satisfies Fields<InventoryV1>;
const inventoryItem = {
  buyerSku: false,
  vendorSku: false,
  upc: false,
  description: false,
  unitPrice: false,
  quantities: true,
} satisfies Fields<InventoryItemV1>;
const priceList = { priceListId: false, supplier: false, currency: false, effectiveDate: false, items: true } satisfies Fields<PriceListV1>;
const priceListItem = {
  buyerSku: false,
  vendorSku: false,
  upc: false,
  description: false,
  size: false,
  color: false,
  unit: false,
  unitPrice: true,
  validFrom: false,
  validUntil: false,
  promoPrice: false,
  productGroup: false,
} satisfies Fields<PriceListItemV1>;
const inventoryQuantity = { kind: true, quantity: true, unit: false, date: false } satisfies Fields<InventoryQuantityV1>;

type Schema = { properties: Record<string, unknown>; required?: string[] };
const asnSchema = CANONICAL_SCHEMAS.asn[1] as Schema & {
  definitions: { party: Schema };
  properties: { orders: { items: { properties: { items: { items: Schema } } } } };
};
const invoiceSchema = CANONICAL_SCHEMAS.invoice[1] as Schema & { properties: { lines: { items: Schema } } };

function agrees(name: string, table: Record<string, boolean>, schema: Schema): void {
  assert.deepEqual(Object.keys(schema.properties).sort(), Object.keys(table).sort(), `${name}: fields`);
  assert.deepEqual(
    [...(schema.required ?? [])].sort(),
    Object.keys(table)
      .filter((k) => table[k as keyof typeof table])
      .sort(),
    `${name}: required fields`,
  );
}

describe('canonical model', () => {
  it('docs/canonical.md is the page written from the schemas (npx gateway docs canonical > docs/canonical.md)', () => {
    assert.equal(readFileSync(path.join(REPO, 'docs', 'canonical.md'), 'utf8'), canonicalMarkdown());
  });

  it('TypeScript types and JSON Schemas agree on fields and required fields', () => {
    agrees('asn', asn, asnSchema);
    agrees('asn item', asnItem, asnSchema.properties.orders.items.properties.items.items);
    agrees('party', party, asnSchema.definitions.party);
    agrees('invoice', invoice, invoiceSchema);
    agrees('invoice line', invoiceLine, invoiceSchema.properties.lines.items);
    type WithLines = Schema & { properties: { lines: { items: Schema } } };
    const poSchema = CANONICAL_SCHEMAS['purchase-order'][1] as WithLines;
    agrees('purchase order', po, poSchema);
    agrees('purchase order line', poLine, poSchema.properties.lines.items);
    const ackSchema = CANONICAL_SCHEMAS['po-ack'][1] as WithLines;
    agrees('po ack', poAck, ackSchema);
    agrees('po ack line', poAckLine, ackSchema.properties.lines.items);
    const invSchema = CANONICAL_SCHEMAS.inventory[1] as Schema & {
      properties: { items: { items: Schema & { properties: { quantities: { items: Schema } } } } };
    };
    agrees('inventory', inventory, invSchema);
    agrees('inventory item', inventoryItem, invSchema.properties.items.items);
    const plSchema = CANONICAL_SCHEMAS['price-list'][1] as Schema & { properties: { items: { items: Schema } } };
    agrees('price list', priceList, plSchema);
    agrees('price list item', priceListItem, plSchema.properties.items.items);
    agrees('inventory quantity', inventoryQuantity, invSchema.properties.items.items.properties.quantities.items);
  });

  it('accepts a minimal valid ASN and applies defaults', () => {
    const doc: AsnV1 = {
      shipmentId: 'S1',
      shipDate: '2026-11-20',
      orders: [{ purchaseOrderNumber: 'P1', items: [{ upc: '012345678905', quantity: 1, unit: 'each' }] }],
    };
    assert.deepEqual(validateCanonical('asn', 1, doc), []);
    assert.equal(doc.purpose, 'original');
  });

  it('names each violation by JSON Pointer', () => {
    const problems = validateCanonical('invoice', 1, {
      invoiceNumber: 'I1',
      invoiceDate: '2026-02-30',
      currency: 'usd',
      lines: [{ quantity: 0, unit: 'gallon', unitPrice: 1 }],
      totalAmount: 1,
    });
    assert.deepEqual(problems.map((p) => p.location?.pointer).sort(), ['/currency', '/invoiceDate', '/lines/0', '/lines/0/quantity', '/lines/0/unit']);
    assert.ok(problems.every((p) => p.code === 'GW_CANONICAL_INVALID' && p.message.length > 10));
  });
});
