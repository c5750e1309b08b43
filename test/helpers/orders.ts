import { ERP } from './gateway.js';

/** A canonical purchase order as the ERP sends it (POST /v1/erp/partners/:partner/purchase-orders). */
export const ERP_ORDER = {
  purchaseOrderNumber: 'PO-20261123-01',
  orderDate: '2026-11-23',
  currency: 'USD',
  requestedDeliveryDate: '2026-12-01',
  shipTo: { name: 'Distributor DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
  lines: [
    { lineNumber: '1', buyerSku: 'INT-100', vendorSku: '87787D', upc: '999999310145', description: 'BLUE WIDGET', quantity: 24, unit: 'each', unitPrice: 1.25 },
    { lineNumber: '2', vendorSku: '99887D', quantity: 2, unit: 'case', unitPrice: 30 },
  ],
};

/** The ERP sends a purchase order to a partner; the gateway's answer. */
export async function sendOrder(url: string, order: unknown, headers: Record<string, string> = {}, key = ERP.key, partner = 'acme-supply') {
  const res = await fetch(`${url}/v1/erp/partners/${partner}/purchase-orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(order),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
