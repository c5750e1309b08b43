import type { AsnV1, Party } from '../../canonical/types.js';
import { GatewayError } from '../../errors.js';
import type { CartonLabel } from './labels.js';
import { isValidSscc } from './sscc.js';

/**
 * The carton labels of a canonical ship notice. Version 1 of the canonical ASN has no pack level:
 * a carton appears only as the `packageId` of the items packed in it (X12 MAN*GM, at the pack or
 * the item level). So a carton is each distinct `packageId`, in the order the notice first names it,
 * and its PO is the order (or orders) of the items in it. Items that name no carton get no label.
 */
export function cartonLabelsOfAsn(asn: AsnV1, shipFromName: string): CartonLabel[] {
  const cartons = cartonsOf(asn);
  if (cartons.size === 0)
    throw new GatewayError(
      'GW_LABELS_NO_CARTONS',
      `Ship notice ${asn.shipmentId} names no carton: none of its items has a package id (X12 MAN*GM with the carton's SSCC).`,
    );
  const common = {
    shipFrom: { name: shipFromName, lines: addressLines(asn.shipFrom) },
    shipTo: { name: asn.shipTo?.name ?? asn.shipTo?.id ?? 'Not named in the ship notice', lines: addressLines(asn.shipTo) },
    shipmentId: asn.shipmentId,
    shipDate: asn.shipDate,
    ...(asn.carrier?.name || asn.carrier?.code ? { carrier: (asn.carrier.name ?? asn.carrier.code) as string } : {}),
    ...(asn.trackingNumber ? { trackingNumber: asn.trackingNumber } : {}),
  };
  return [...cartons].map(([sscc, orders], i) => ({ ...common, sscc, poNumber: [...orders].join(', '), carton: i + 1, of: cartons.size }));
}

/** Each carton's SSCC with the purchase orders of the items in it, in the notice's order. */
function cartonsOf(asn: AsnV1): Map<string, Set<string>> {
  const cartons = new Map<string, Set<string>>();
  for (const order of asn.orders) {
    for (const item of order.items) {
      if (!item.packageId) continue;
      const sscc = ssccOf(item.packageId, asn.shipmentId);
      const orders = cartons.get(sscc) ?? new Set<string>();
      orders.add(order.purchaseOrderNumber);
      cartons.set(sscc, orders);
    }
  }
  return cartons;
}

/**
 * The SSCC in a package id: 18 digits, or 20 when the sender kept the application identifier 00
 * in front. Anything else cannot be printed as a GS1-128 (00) barcode, and a label with a wrong
 * number is worse than none: refused, naming the id.
 */
function ssccOf(packageId: string, shipmentId: string): string {
  const id = packageId.trim();
  const sscc = /^00[0-9]{18}$/.test(id) ? id.slice(2) : id;
  if (!isValidSscc(sscc))
    throw new GatewayError(
      'GW_SSCC_INVALID',
      `Ship notice ${shipmentId}: package id "${packageId}" is not an SSCC (18 digits ending in the GS1 check digit), so no carton label can carry it.`,
    );
  return sscc;
}

function addressLines(p: Party | undefined): string[] {
  if (!p) return [];
  const cityLine = [p.city, [p.region, p.postalCode].filter(Boolean).join(' ')].filter(Boolean).join(', ');
  return [p.street, cityLine, p.country].filter((l): l is string => Boolean(l));
}
