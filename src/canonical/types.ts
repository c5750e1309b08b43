/**
 * TypeScript shapes of the canonical documents, kept by hand beside asn.v1.schema.json and
 * invoice.v1.schema.json. test/unit/canonical.test.ts checks that the two agree on which fields are
 * required and which fields exist.
 */
export type Unit = 'each' | 'case' | 'pack' | 'box' | 'pallet' | 'pound' | 'kilogram' | 'dozen' | 'pair' | 'roll' | 'set' | 'foot' | 'meter' | 'ream';

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

/** How a line names its item: the buyer's and the vendor's numbers, the GTIN/UPC, a description. */
export interface ItemIdentity {
  buyerSku?: string;
  vendorSku?: string;
  upc?: string;
  description?: string;
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
  supplierQuantity?: number;
  supplierUnit?: string;
}

export interface AsnV1 {
  shipmentId: string;
  purpose?: 'original' | 'replace' | 'cancel' | 'test';
  shipDate: string;
  shipDateTime?: string;
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

export interface InvoiceLineV1 extends ItemIdentity {
  lineNumber?: string;
  purchaseOrderNumber?: string;
  quantity: number;
  unit: Unit;
  unitPrice: number;
  lineAmount?: number;
  taxAmount?: number;
  supplierQuantity?: number;
  supplierUnit?: string;
  supplierUnitPrice?: number;
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
  subtotalAmount?: number;
  taxAmount?: number;
  shippingAmount?: number;
  handlingAmount?: number;
  totalAmount: number;
}

export interface PurchaseOrderLineV1 extends ItemIdentity {
  lineNumber?: string;
  quantity: number;
  unit: Unit;
  unitPrice?: number;
  requestedDeliveryDate?: string;
}

export interface PurchaseOrderV1 {
  purchaseOrderNumber: string;
  purpose?: 'original' | 'replace' | 'cancel';
  orderType?: 'standalone' | 'blanket' | 'release' | 'dropship';
  orderDate: string;
  currency?: string;
  requestedDeliveryDate?: string;
  requestedShipDate?: string;
  terms?: string;
  notes?: string;
  buyer?: Party;
  vendor?: Party;
  shipTo?: Party;
  billTo?: Party;
  carrier?: { code?: string; name?: string };
  lines: PurchaseOrderLineV1[];
  totalAmount?: number;
}

export interface PoAckLineV1 extends ItemIdentity {
  lineNumber?: string;
  quantity: number;
  unit: Unit;
  unitPrice?: number;
  status?: 'accepted' | 'backordered' | 'changed' | 'rejected' | 'deleted';
  acknowledgedQuantity?: number;
  scheduledDate?: string;
}

export interface PoAckV1 {
  purchaseOrderNumber: string;
  purchaseOrderDate?: string;
  ackDate: string;
  purpose?: 'original' | 'replace' | 'cancel';
  status: 'accepted' | 'accepted-with-changes' | 'rejected';
  orderReference?: string;
  scheduledShipDate?: string;
  scheduledDeliveryDate?: string;
  vendor?: Party;
  shipTo?: Party;
  lines?: PoAckLineV1[];
}

export interface InventoryQuantityV1 {
  kind: 'on-hand' | 'available' | 'on-order' | 'committed' | 'backordered' | 'planned' | 'other';
  quantity: number;
  unit?: Unit;
  date?: string;
}

export interface InventoryItemV1 extends ItemIdentity {
  unitPrice?: number;
  quantities: InventoryQuantityV1[];
}

export interface InventoryV1 {
  reportId?: string;
  reportDate: string;
  supplier?: Party;
  location?: Party;
  items: InventoryItemV1[];
}

export interface PriceListItemV1 extends ItemIdentity {
  size?: string;
  color?: string;
  unit?: Unit;
  unitPrice: number;
  validFrom?: string;
  validUntil?: string;
  promoPrice?: number;
  productGroup?: string;
}

export interface PriceListV1 {
  priceListId?: string;
  supplier?: Party;
  currency?: string;
  effectiveDate?: string;
  items: PriceListItemV1[];
}
