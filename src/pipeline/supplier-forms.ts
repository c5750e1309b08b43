import type { AsnV1, PurchaseOrderV1 } from '../canonical/index.js';
import type { ErrorCode, Problem } from '../errors.js';
import { checkCanonicalForm } from './canonical-form.js';
import { isValidSscc } from '../formats/gs1/sscc.js';

/**
 * The supplier's ship-notice and invoice forms as data (decision 0028): the fields a person typed
 * become a canonical document, and every problem, the schema's or the form's own, names the field
 * to show it beside. Pure: no database, no HTML.
 */

export type Fields = Record<string, string>;

/** A problem beside a form field (`field`), or above the form when it concerns none. */
export interface FieldProblem {
  code: ErrorCode;
  message: string;
  jsonPath: string;
  field?: string;
}

export interface FormResult {
  /** The canonical document, valid when `problems` is empty. */
  document: unknown;
  problems: FieldProblem[];
}

export const PACK_KINDS = ['carton', 'pallet'] as const;
type OrderLine = PurchaseOrderV1['lines'][number];

const text = (f: Fields, name: string) => (f[name] ?? '').trim();
/** A number the person typed, or the text itself, so the schema names it as not a number, as it would over the API. */
const numberOr = (s: string): number | string => (/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s);
const round2 = (n: number) => Math.round(n * 100) / 100;

/** The item identifiers and unit of a purchase order line, as a ship notice or invoice line repeats them. */
function itemOf(line: OrderLine, i: number) {
  return {
    lineNumber: line.lineNumber ?? String(i + 1),
    ...(line.buyerSku ? { buyerSku: line.buyerSku } : {}),
    ...(line.vendorSku ? { vendorSku: line.vendorSku } : {}),
    ...(line.upc ? { upc: line.upc } : {}),
    ...(line.description ? { description: line.description } : {}),
    unit: line.unit,
  };
}

/** Rows beyond this are ignored: a shipment of more packs comes by EDI or upload. */
const MAX_PACK_ROWS = 200;

/** How many rows of packs the form offers: up to the last one filled in, and one empty row to add another. */
export function packRows(f: Fields): number {
  let n = 0;
  for (const [key, value] of Object.entries(f)) {
    const m = /^pack\.(\d+)\.(sscc|line|qty)$/.exec(key);
    if (m && value.trim() !== '' && Number(m[1]) < MAX_PACK_ROWS) n = Math.max(n, Number(m[1]) + 1);
  }
  return n + 1;
}

/** Pack rows that name an order line but no SSCC yet: the ones "Number the packs" fills. */
export function packRowsWithoutSscc(f: Fields): number[] {
  const rows: number[] = [];
  for (let row = 0; row < packRows(f); row++) if (text(f, `pack.${row}.line`) !== '' && text(f, `pack.${row}.sscc`) === '') rows.push(row);
  return rows;
}

interface Pack {
  row: number;
  sscc: string;
  kind: string;
  line: number;
  qty: string;
}

function packsOf(f: Fields, lines: number, shipped: (i: number) => boolean, problems: FieldProblem[]): Pack[] {
  const packs: Pack[] = [];
  for (let row = 0; row < packRows(f); row++) {
    const [sscc, lineText, qty] = [text(f, `pack.${row}.sscc`), text(f, `pack.${row}.line`), text(f, `pack.${row}.qty`)];
    if (!sscc && !lineText && !qty) continue;
    const line = lineText === '' ? -1 : Number(lineText);
    const at = `$.orders[0].items`;
    if (!(line >= 0 && line < lines && Number.isInteger(line)))
      problems.push({ code: 'GW_PORTAL_FORM', message: `Pack ${row + 1}: choose the order line it holds.`, jsonPath: at, field: `pack.${row}.line` });
    else if (!shipped(line))
      problems.push({
        code: 'GW_PORTAL_FORM',
        message: `Pack ${row + 1} holds line ${line + 1}, which has no shipped quantity: enter that line's shipped quantity.`,
        jsonPath: at,
        field: `pack.${row}.line`,
      });
    else packs.push({ row, sscc, kind: text(f, `pack.${row}.kind`) || 'carton', line, qty });
  }
  return packs;
}

/**
 * The canonical ship notice of the form: one order (the purchase order's number), one item per
 * line shipped, split per pack when packs hold it (the pack's SSCC as the item's `packageId`), and
 * what no pack holds as an item of its own.
 */
export function asnFromForm(order: PurchaseOrderV1, f: Fields): FormResult {
  const problems: FieldProblem[] = [];
  const fieldOf = new Map<string, string>([
    ['$.shipmentId', 'shipmentId'],
    ['$.shipDate', 'shipDate'],
    ['$.carrier', 'carrier'],
    ['$.trackingNumber', 'tracking'],
    ['$.orders[0].items', 'lines'],
  ]);
  const shipped = (i: number) => text(f, `line.${i}.qty`) !== '';
  const packs = packsOf(f, order.lines.length, shipped, problems);
  const items: Record<string, unknown>[] = [];
  const add = (item: Record<string, unknown>, fields: Record<string, string>) => {
    const at = `$.orders[0].items[${items.length}]`;
    fieldOf.set(at, fields.quantity as string);
    for (const [prop, field] of Object.entries(fields)) fieldOf.set(`${at}.${prop}`, field);
    items.push(item);
  };
  order.lines.forEach((line, i) => {
    if (!shipped(i)) return;
    const qty = numberOr(text(f, `line.${i}.qty`));
    const mine = packs.filter((p) => p.line === i);
    for (const p of mine) {
      const at = `$.orders[0].items[${items.length}].packageId`;
      if (!isValidSscc(p.sscc)) problems.push({ code: 'GW_SSCC_INVALID', message: ssccMessage(p), jsonPath: at, field: `pack.${p.row}.sscc` });
      add({ ...itemOf(line, i), quantity: numberOr(p.qty), packageId: p.sscc }, { quantity: `pack.${p.row}.qty`, packageId: `pack.${p.row}.sscc` });
    }
    const packed = mine.reduce((sum, p) => sum + (typeof numberOr(p.qty) === 'number' ? Number(p.qty) : 0), 0);
    const rest = typeof qty === 'number' ? round2(qty - packed) : qty;
    if (typeof rest === 'number' && rest < 0)
      problems.push({
        code: 'GW_PORTAL_FORM',
        message: `The packs hold ${packed} of line ${i + 1}, more than the ${qty} shipped.`,
        jsonPath: `$.orders[0].items`,
        field: `line.${i}.qty`,
      });
    else if (rest !== 0 || mine.length === 0) add({ ...itemOf(line, i), quantity: rest }, { quantity: `line.${i}.qty` });
  });
  const carrier = text(f, 'carrier');
  const tracking = text(f, 'tracking');
  const distinctPacks = new Set(packs.map((p) => p.sscc)).size;
  const document = {
    shipmentId: text(f, 'shipmentId'),
    shipDate: text(f, 'shipDate'),
    ...(carrier ? { carrier: { name: carrier } } : {}),
    ...(tracking ? { trackingNumber: tracking } : {}),
    ...(distinctPacks ? { totals: { packages: distinctPacks } } : {}),
    ...(order.shipTo ? { shipTo: order.shipTo } : {}),
    orders: [{ purchaseOrderNumber: order.purchaseOrderNumber, ...(order.orderDate ? { purchaseOrderDate: order.orderDate } : {}), items }],
  };
  dropBlank(document, ['shipmentId', 'shipDate']);
  return withSchema('asn', document, problems, fieldOf);
}

function ssccMessage(p: Pack): string {
  if (!p.sscc) return `Pack ${p.row + 1} has no SSCC: enter the 18 digits on its label.`;
  if (!/^\d{18}$/.test(p.sscc)) return `Pack ${p.row + 1}: an SSCC is 18 digits; "${p.sscc}" is not.`;
  return `Pack ${p.row + 1}: the check digit of SSCC ${p.sscc} is wrong (GS1 mod 10); check the number on the label.`;
}

/** An empty text field is a missing field, so the schema says "required" rather than "too short". */
function dropBlank(doc: Record<string, unknown>, names: string[]): void {
  for (const n of names) if (doc[n] === '') delete doc[n];
}

/** What the invoice form computes from its lines, tax rate and freight: shown on the form and sent. */
export interface InvoiceTotals {
  lineAmounts: (number | null)[];
  subtotal: number;
  tax: number | null;
  freight: number | null;
  total: number;
}

export function invoiceTotals(order: PurchaseOrderV1, f: Fields): InvoiceTotals {
  const lineAmounts = order.lines.map((_, i) => {
    const [q, p] = [numberOr(text(f, `line.${i}.qty`)), numberOr(text(f, `line.${i}.price`))];
    return typeof q === 'number' && typeof p === 'number' ? round2(q * p) : null;
  });
  const subtotal = round2(lineAmounts.reduce<number>((s, a) => s + (a ?? 0), 0));
  const rate = numberOr(text(f, 'taxRate'));
  const tax = typeof rate === 'number' ? round2((subtotal * rate) / 100) : null;
  const freightValue = numberOr(text(f, 'freight'));
  const freight = typeof freightValue === 'number' ? freightValue : null;
  return { lineAmounts, subtotal, tax, freight, total: round2(subtotal + (tax ?? 0) + (freight ?? 0)) };
}

/** The canonical invoice of the form: the order's lines with a quantity, their prices, tax, freight and the computed totals. */
export function invoiceFromForm(order: PurchaseOrderV1, f: Fields): FormResult {
  const problems: FieldProblem[] = [];
  const fieldOf = new Map<string, string>([
    ['$.invoiceNumber', 'invoiceNumber'],
    ['$.invoiceDate', 'invoiceDate'],
    ['$.currency', 'currency'],
    ['$.terms', 'terms'],
    ['$.lines', 'lines'],
    ['$.taxAmount', 'taxRate'],
    ['$.shippingAmount', 'freight'],
  ]);
  const totals = invoiceTotals(order, f);
  const lines: Record<string, unknown>[] = [];
  order.lines.forEach((line, i) => {
    if (text(f, `line.${i}.qty`) === '') return;
    const at = `$.lines[${lines.length}]`;
    fieldOf.set(at, `line.${i}.qty`).set(`${at}.quantity`, `line.${i}.qty`).set(`${at}.unitPrice`, `line.${i}.price`);
    const amount = totals.lineAmounts[i];
    lines.push({
      ...itemOf(line, i),
      quantity: numberOr(text(f, `line.${i}.qty`)),
      unitPrice: text(f, `line.${i}.price`) === '' ? undefined : numberOr(text(f, `line.${i}.price`)),
      ...(amount !== null && amount !== undefined ? { lineAmount: amount } : {}),
    });
  });
  for (const l of lines) if (l.unitPrice === undefined) delete l.unitPrice;
  const rateText = text(f, 'taxRate');
  if (rateText && totals.tax === null)
    problems.push({
      code: 'GW_PORTAL_FORM',
      message: `The tax rate "${rateText}" is not a number (a percentage such as 8.25).`,
      jsonPath: '$.taxAmount',
      field: 'taxRate',
    });
  const freight = text(f, 'freight');
  const terms = text(f, 'terms');
  const document = {
    invoiceNumber: text(f, 'invoiceNumber'),
    invoiceDate: text(f, 'invoiceDate'),
    purchaseOrderNumber: order.purchaseOrderNumber,
    ...(order.orderDate ? { purchaseOrderDate: order.orderDate } : {}),
    currency: text(f, 'currency'),
    ...(terms ? { terms } : {}),
    lines,
    subtotalAmount: totals.subtotal,
    ...(totals.tax !== null ? { taxAmount: totals.tax } : {}),
    ...(freight ? { shippingAmount: numberOr(freight) } : {}),
    totalAmount: totals.total,
  };
  dropBlank(document, ['invoiceNumber', 'invoiceDate', 'currency']);
  return withSchema('invoice', document, problems, fieldOf);
}

/** The form's own problems, then the schema's (as interpretation will report them), each placed on its field. */
function withSchema(type: 'asn' | 'invoice', document: unknown, problems: FieldProblem[], fieldOf: Map<string, string>): FormResult {
  const checked = checkCanonicalForm(type, 1, structuredClone(document));
  const schema = checked.ok ? [] : checked.problems.map((p) => placed(p, fieldOf));
  return { document, problems: [...problems, ...schema] };
}

function placed(p: Problem, fieldOf: Map<string, string>): FieldProblem {
  const jsonPath = p.location?.jsonPath ?? '$';
  for (let at = jsonPath; at.length > 1; at = at.replace(/(\.[^.[]+|\[[^\]]+\])$/, '')) {
    const field = fieldOf.get(at);
    if (field) return { code: p.code, message: p.message, jsonPath, field };
    if (!/(\.[^.[]+|\[[^\]]+\])$/.test(at)) break;
  }
  return { code: p.code, message: p.message, jsonPath };
}

/** The first fields of a new ship notice: every line as ordered, shipped today. */
export function newAsnFields(order: PurchaseOrderV1, asnCount: number, today: string): Fields {
  const f: Fields = { shipmentId: `${order.purchaseOrderNumber}-${asnCount + 1}`, shipDate: today, carrier: '', tracking: '' };
  order.lines.forEach((l, i) => {
    f[`line.${i}.qty`] = String(l.quantity);
  });
  return f;
}

/** The first fields of a new invoice: the ship notice's quantities (or the order's), the order's prices and currency. */
export function newInvoiceFields(order: PurchaseOrderV1, asn: AsnV1 | undefined, invoiceCount: number, today: string): Fields {
  const f: Fields = {
    invoiceNumber: `${order.purchaseOrderNumber}-INV${invoiceCount + 1}`,
    invoiceDate: today,
    currency: order.currency ?? 'USD',
    terms: order.terms ?? '',
    taxRate: '',
    freight: '',
  };
  const shippedByLine = new Map<string, number>();
  for (const o of asn?.orders ?? [])
    if (o.purchaseOrderNumber === order.purchaseOrderNumber)
      for (const item of o.items) if (item.lineNumber) shippedByLine.set(item.lineNumber, round2((shippedByLine.get(item.lineNumber) ?? 0) + item.quantity));
  order.lines.forEach((l, i) => {
    const shipped = asn ? shippedByLine.get(l.lineNumber ?? String(i + 1)) : l.quantity;
    f[`line.${i}.qty`] = shipped === undefined ? '' : String(shipped);
    f[`line.${i}.price`] = l.unitPrice === undefined ? '' : String(l.unitPrice);
  });
  return f;
}
