/**
 * TypeScript shapes of the canonical documents, kept by hand beside asn.v1.schema.json and
 * invoice.v1.schema.json. test/unit/canonical.test.ts checks that the two agree on which fields are
 * required and which fields exist.
 */
export type Unit = 'each' | 'case' | 'pack' | 'box' | 'pallet' | 'pound' | 'kilogram' | 'dozen' | 'pair' | 'roll' | 'set';

export interface Party {
  name?: string;
  id?: string;
  idQualifier?: string;
  street?: string;
  city?: string;
  region?: string;
  postalCode?: string;
  country?: string;
}

export interface AsnItemV1 {
  lineNumber?: string;
  buyerSku?: string;
  vendorSku?: string;
  upc?: string;
  ndc?: string;
  description?: string;
  quantity: number;
  unit: Unit;
  lot?: string;
  expirationDate?: string;
  packageId?: string;
}

export interface AsnV1 {
  shipmentId: string;
  purpose?: 'original' | 'replace' | 'cancel' | 'test';
  shipDate: string;
  shipTime?: string;
  deliveryDate?: string;
  billOfLading?: string;
  trackingNumber?: string;
  carrier?: { code?: string; name?: string; mode?: string };
  totals?: { packages?: number; weight?: number; weightUnit?: 'lb' | 'kg' };
  shipFrom?: Party;
  shipTo?: Party;
  orders: { purchaseOrderNumber: string; purchaseOrderDate?: string; items: AsnItemV1[] }[];
}

export interface InvoiceLineV1 {
  lineNumber?: string;
  buyerSku?: string;
  vendorSku?: string;
  upc?: string;
  description?: string;
  quantity: number;
  unit: Unit;
  unitPrice: number;
}

export interface InvoiceV1 {
  invoiceNumber: string;
  invoiceDate: string;
  purchaseOrderNumber?: string;
  purchaseOrderDate?: string;
  currency: string;
  terms?: string;
  seller?: Party;
  buyer?: Party;
  remitTo?: Party;
  shipTo?: Party;
  lines: InvoiceLineV1[];
  totalAmount: number;
}
