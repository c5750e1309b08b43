import type { Party, PurchaseOrderV1, Unit } from '../../canonical/types.js';

/** Canonical units → X12 unit of measure codes (355). */
export const X12_UNITS: Record<Unit, string> = {
  each: 'EA', case: 'CS', pack: 'PK', box: 'BX', pallet: 'PL', pound: 'LB', kilogram: 'KG', dozen: 'DZ', pair: 'PR', roll: 'RL', set: 'ST', foot: 'FT', meter: 'MR', ream: 'RM',
};

const PURPOSE = { original: '00', replace: '05', cancel: '01' } as const;
const ORDER_TYPE = { standalone: 'SA', blanket: 'BK', release: 'RL', dropship: 'DS' } as const;

const date = (iso: string) => iso.replaceAll('-', '');
const num = (n: number) => String(Number(n.toFixed(6)));

function party(code: string, p: Party | undefined): [string, ...string[]][] {
  if (!p) return [];
  const segs: [string, ...string[]][] = [['N1', code, p.name ?? '', p.id ? (p.idQualifier ?? '92') : '', p.id ?? '']];
  if (p.street) segs.push(['N3', p.street]);
  if (p.city || p.region || p.postalCode || p.country) segs.push(['N4', p.city ?? '', p.region ?? '', p.postalCode ?? '', p.country ?? '']);
  return segs;
}

/** The body of an X12 850 (between ST and SE) for a canonical purchase order. */
export function render850(po: PurchaseOrderV1): [string, ...string[]][] {
  const segs: [string, ...string[]][] = [['BEG', PURPOSE[po.purpose ?? 'original'], ORDER_TYPE[po.orderType ?? 'standalone'], po.purchaseOrderNumber, '', date(po.orderDate)]];
  if (po.currency) segs.push(['CUR', 'BY', po.currency]);
  if (po.terms) segs.push(['ITD', '', '', '', '', '', '', '', '', '', '', '', po.terms]);
  if (po.requestedDeliveryDate) segs.push(['DTM', '002', date(po.requestedDeliveryDate)]);
  if (po.requestedShipDate) segs.push(['DTM', '010', date(po.requestedShipDate)]);
  if (po.carrier?.code || po.carrier?.name) segs.push(['TD5', '', po.carrier.code ? '2' : '', po.carrier.code ?? '', '', po.carrier.name ?? '']);
  if (po.notes) segs.push(['MSG', po.notes]);
  segs.push(...party('BY', po.buyer), ...party('VN', po.vendor), ...party('ST', po.shipTo), ...party('BT', po.billTo));
  let total = 0;
  po.lines.forEach((line, i) => {
    const ids: string[] = [];
    if (line.buyerSku) ids.push('BP', line.buyerSku);
    if (line.vendorSku) ids.push('VP', line.vendorSku);
    if (line.upc) ids.push('UP', line.upc);
    segs.push(['PO1', line.lineNumber ?? String(i + 1), num(line.quantity), X12_UNITS[line.unit], line.unitPrice !== undefined ? num(line.unitPrice) : '', '', ...ids]);
    if (line.description) segs.push(['PID', 'F', '', '', '', line.description]);
    if (line.requestedDeliveryDate) segs.push(['DTM', '002', date(line.requestedDeliveryDate)]);
    total += line.quantity;
  });
  segs.push(['CTT', String(po.lines.length), num(total)]);
  return segs;
}
