import type { AsnV1, InvoiceV1, ItemIdentity, PoAckV1 } from '../canonical/types.js';
import type { RuleAction, Tolerances } from '../types.js';

/*
 * The purchase-order ledger's arithmetic and the tolerance rules (decision 0036), as pure functions
 * over data: what a po-ack, ASN or invoice adds to the lines of the POs it names, and which of the
 * partner's tolerances it breaks. No database here: src/pipeline/po-intake.ts loads the POs, calls
 * `evaluateDocument` and writes what it returns.
 */

/** Where a PO stands, from its lines: ordered → acknowledged → partially-shipped → shipped → invoiced. */
export const PO_STATUSES = ['ordered', 'acknowledged', 'partially-shipped', 'shipped', 'invoiced'] as const;
export type PoStatus = (typeof PO_STATUSES)[number];

/** The stable names of the tolerance rules (an exception's `rule`). */
export const RULE_NAMES = [
  'quantity-over',
  'quantity-under',
  'ship-date-late',
  'unit-price',
  'invoice-above-shipped',
  'unknown-po',
  'duplicate-invoice',
] as const;
export type RuleName = (typeof RULE_NAMES)[number];

export interface PoLine {
  lineNumber: string;
  item: ItemIdentity;
  unitPrice: number | null;
  ordered: number;
  /** What the supplier's po-ack confirmed; null until one came. */
  confirmed: number | null;
  /** The ship date it confirmed (YYYY-MM-DD), if any. */
  confirmedDate: string | null;
  shipped: number;
  invoiced: number;
}

export interface PoState {
  id: string;
  number: string;
  lines: PoLine[];
}

/** A linked document as the ledger reads it. */
export type LinkedDocument =
  | { type: 'po-ack'; number: string | null; canonical: PoAckV1 }
  | { type: 'asn'; number: string | null; canonical: AsnV1 }
  | { type: 'invoice'; number: string | null; canonical: InvoiceV1 };

/** What a document sets (confirmed) or adds (shipped, invoiced) on one PO line. */
export interface LineChange {
  line: string;
  confirmed?: number;
  confirmedDate?: string;
  shipped?: number;
  invoiced?: number;
}

/** One broken tolerance: the rule, what it says to do, and the facts that broke it. */
export interface Finding {
  rule: RuleName;
  action: RuleAction;
  poNumber: string | null;
  line: string | null;
  facts: Record<string, unknown>;
  message: string;
}

export interface Evaluation {
  /** Per known PO the document names: its line changes. */
  links: { poNumber: string; lines: LineChange[] }[];
  findings: Finding[];
  /** A finding's rule says `hold`: the document waits for a person before it is delivered. */
  hold: boolean;
}

/** What the evaluation knows beyond the document and the POs. */
export interface EvaluationContext {
  /** An invoice of the same number from this partner was accepted before. */
  invoiceSeen: boolean;
}

/** One line of a document, named against a PO. */
interface DocLine extends ItemIdentity {
  poNumber: string | null;
  lineNumber?: string;
  quantity: number;
  unitPrice?: number;
  date?: string;
}

const EPSILON = 1e-9;

/**
 * Links a po-ack, ASN or invoice to the POs it names and checks it against the partner's
 * tolerances. `orders` holds the partner's known POs by number, as they stand before this document.
 */
export function evaluateDocument(doc: LinkedDocument, orders: ReadonlyMap<string, PoState>, rules: Tolerances, context: EvaluationContext): Evaluation {
  const findings: Finding[] = [];
  if (doc.type === 'invoice' && context.invoiceSeen && rules.duplicateInvoice)
    findings.push(
      finding(
        rules.duplicateInvoice.action,
        'duplicate-invoice',
        doc.canonical.purchaseOrderNumber ?? null,
        null,
        { invoiceNumber: doc.number },
        `Invoice ${doc.number} was received before.`,
      ),
    );
  const byPo = new Map<string, Map<string, LineChange>>();
  for (const line of documentLines(doc, orders)) {
    const po = line.poNumber === null ? undefined : orders.get(line.poNumber);
    const poLine = po && matchLine(po, line);
    if (!po || !poLine) {
      if (rules.unknownPo) findings.push(unknownFinding(rules.unknownPo.action, line, po));
      continue;
    }
    const changes = byPo.get(po.number) ?? byPo.set(po.number, new Map()).get(po.number)!;
    const change = changes.get(poLine.lineNumber) ?? { line: poLine.lineNumber };
    addLine(doc, change, line);
    changes.set(poLine.lineNumber, change);
    if (doc.type !== 'asn') findings.push(...priceFindings(rules, po.number, poLine, line));
  }
  const links = [...byPo].map(([poNumber, changes]) => ({ poNumber, lines: [...changes.values()] }));
  for (const link of links) {
    const po = orders.get(link.poNumber)!;
    for (const change of link.lines) findings.push(...lineFindings(doc, rules, po, change));
  }
  const kept = dedupeUnknown(findings);
  return { links, findings: kept, hold: kept.some((f) => f.action === 'hold') };
}

/** The lines of a document, each with the PO it names (an invoice line may name its own). */
function documentLines(doc: LinkedDocument, orders: ReadonlyMap<string, PoState>): DocLine[] {
  if (doc.type === 'po-ack') {
    const ack = doc.canonical;
    const confirmedOf = (l: NonNullable<PoAckV1['lines']>[number]) =>
      ack.status === 'rejected' || l.status === 'rejected' || l.status === 'deleted' ? 0 : (l.acknowledgedQuantity ?? l.quantity);
    if (!ack.lines?.length) return wholeOrderAck(ack, orders);
    return ack.lines.map((l) => ({
      ...identity(l),
      poNumber: ack.purchaseOrderNumber,
      ...(l.lineNumber ? { lineNumber: l.lineNumber } : {}),
      quantity: confirmedOf(l),
      ...(l.unitPrice !== undefined ? { unitPrice: l.unitPrice } : {}),
      ...(l.scheduledDate || ack.scheduledShipDate ? { date: (l.scheduledDate ?? ack.scheduledShipDate) as string } : {}),
    }));
  }
  if (doc.type === 'asn')
    return doc.canonical.orders.flatMap((o) =>
      o.items.map((i) => ({
        ...identity(i),
        poNumber: o.purchaseOrderNumber,
        ...(i.lineNumber ? { lineNumber: i.lineNumber } : {}),
        quantity: i.quantity,
        date: doc.canonical.shipDate,
      })),
    );
  const inv = doc.canonical;
  return inv.lines.map((l) => ({
    ...identity(l),
    poNumber: l.purchaseOrderNumber ?? inv.purchaseOrderNumber ?? null,
    ...(l.lineNumber ? { lineNumber: l.lineNumber } : {}),
    quantity: l.quantity,
    unitPrice: l.unitPrice,
  }));
}

/** A po-ack without lines answers the whole order: every line confirmed as ordered, or none when rejected. */
function wholeOrderAck(ack: PoAckV1, orders: ReadonlyMap<string, PoState>): DocLine[] {
  const po = orders.get(ack.purchaseOrderNumber);
  if (!po) return [{ poNumber: ack.purchaseOrderNumber, quantity: 0 }];
  return po.lines.map((l) => ({
    poNumber: po.number,
    lineNumber: l.lineNumber,
    quantity: ack.status === 'rejected' ? 0 : l.ordered,
    ...(ack.scheduledShipDate ? { date: ack.scheduledShipDate } : {}),
  }));
}

function identity(i: ItemIdentity): ItemIdentity {
  return {
    ...(i.buyerSku ? { buyerSku: i.buyerSku } : {}),
    ...(i.vendorSku ? { vendorSku: i.vendorSku } : {}),
    ...(i.upc ? { upc: i.upc } : {}),
  };
}

/** Line numbers compare as numbers when both are (`001` is line `1`). */
function sameLineNumber(a: string, b: string): boolean {
  const [x, y] = [a.trim(), b.trim()];
  return x === y || (/^\d+$/.test(x) && /^\d+$/.test(y) && Number(x) === Number(y));
}

/** The PO line a document line names: by line number, else by the buyer's or vendor's SKU or the UPC. */
export function matchLine(po: PoState, line: ItemIdentity & { lineNumber?: string }): PoLine | undefined {
  if (line.lineNumber) {
    const byNumber = po.lines.find((l) => sameLineNumber(l.lineNumber, line.lineNumber as string));
    if (byNumber) return byNumber;
  }
  return po.lines.find(
    (l) =>
      (line.buyerSku && l.item.buyerSku === line.buyerSku) || (line.vendorSku && l.item.vendorSku === line.vendorSku) || (line.upc && l.item.upc === line.upc),
  );
}

function addLine(doc: LinkedDocument, change: LineChange, line: DocLine): void {
  if (doc.type === 'po-ack') {
    change.confirmed = (change.confirmed ?? 0) + line.quantity;
    if (line.date) change.confirmedDate = line.date;
  } else if (doc.type === 'asn') change.shipped = (change.shipped ?? 0) + line.quantity;
  else change.invoiced = (change.invoiced ?? 0) + line.quantity;
}

/** The quantity a line is expected to reach: what the supplier confirmed, else what was ordered. */
export const expectedOf = (l: PoLine): number => l.confirmed ?? l.ordered;

/** Percent `actual` lies above (positive) or below (negative) `base`. */
function percentOff(actual: number, base: number): number {
  if (base === 0) return actual === 0 ? 0 : Number.POSITIVE_INFINITY;
  return ((actual - base) / base) * 100;
}

const round = (n: number) => Math.round(n * 100) / 100;

function lineFindings(doc: LinkedDocument, rules: Tolerances, po: PoState, change: LineChange): Finding[] {
  const line = po.lines.find((l) => l.lineNumber === change.line)!;
  const out: Finding[] = [];
  const at = (rule: RuleName, action: RuleAction, facts: Record<string, unknown>, message: string) =>
    out.push(finding(action, rule, po.number, line.lineNumber, facts, message));
  if (doc.type === 'po-ack' && change.confirmed !== undefined) {
    const off = percentOff(change.confirmed, line.ordered);
    const facts = { ordered: line.ordered, confirmed: change.confirmed, percent: round(off) };
    if (rules.quantityOver && off > rules.quantityOver.percent + EPSILON)
      at('quantity-over', rules.quantityOver.action, facts, `Line ${line.lineNumber}: confirmed ${change.confirmed} of ${line.ordered} ordered.`);
    if (rules.quantityUnder && -off > rules.quantityUnder.percent + EPSILON)
      at('quantity-under', rules.quantityUnder.action, facts, `Line ${line.lineNumber}: confirmed ${change.confirmed} of ${line.ordered} ordered.`);
  }
  if (doc.type === 'asn' && change.shipped !== undefined) {
    const shipped = line.shipped + change.shipped;
    const expected = expectedOf(line);
    const off = percentOff(shipped, expected);
    if (rules.quantityOver && off > rules.quantityOver.percent + EPSILON)
      at(
        'quantity-over',
        rules.quantityOver.action,
        { expected, shippedBefore: line.shipped, shipped, percent: round(off) },
        `Line ${line.lineNumber}: ${shipped} shipped of ${expected} expected (${round(off)} % over).`,
      );
    const late = daysLate(doc.canonical.shipDate, line.confirmedDate);
    if (rules.shipDateLate && late !== undefined && late > rules.shipDateLate.days)
      at(
        'ship-date-late',
        rules.shipDateLate.action,
        { shipDate: doc.canonical.shipDate, confirmedDate: line.confirmedDate, daysLate: late },
        `Line ${line.lineNumber}: shipped ${doc.canonical.shipDate}, ${late} day(s) after the confirmed ${line.confirmedDate}.`,
      );
  }
  if (doc.type === 'invoice' && change.invoiced !== undefined && rules.invoiceAboveShipped) {
    const invoiced = line.invoiced + change.invoiced;
    const off = percentOff(invoiced, line.shipped);
    if (off > rules.invoiceAboveShipped.percent + EPSILON)
      at(
        'invoice-above-shipped',
        rules.invoiceAboveShipped.action,
        { shipped: line.shipped, invoicedBefore: line.invoiced, invoiced },
        `Line ${line.lineNumber}: ${invoiced} invoiced, ${line.shipped} shipped.`,
      );
  }
  return out;
}

/** A po-ack's or invoice's unit price against the PO line's. */
function priceFindings(rules: Tolerances, poNumber: string, poLine: PoLine, line: DocLine): Finding[] {
  if (!rules.unitPrice || line.unitPrice === undefined || poLine.unitPrice === null) return [];
  const off = percentOff(line.unitPrice, poLine.unitPrice);
  if (Math.abs(off) <= rules.unitPrice.percent + EPSILON) return [];
  return [
    finding(
      rules.unitPrice.action,
      'unit-price',
      poNumber,
      poLine.lineNumber,
      { ordered: poLine.unitPrice, found: line.unitPrice, percent: round(off) },
      `Line ${poLine.lineNumber}: unit price ${line.unitPrice} against ${poLine.unitPrice} on the order (${round(off)} %).`,
    ),
  ];
}

function daysLate(shipDate: string, confirmed: string | null): number | undefined {
  if (!confirmed) return undefined;
  const ms = Date.parse(`${shipDate.slice(0, 10)}T00:00:00Z`) - Date.parse(`${confirmed.slice(0, 10)}T00:00:00Z`);
  return Number.isFinite(ms) ? Math.round(ms / 86_400_000) : undefined;
}

function unknownFinding(action: RuleAction, line: DocLine, po: PoState | undefined): Finding {
  if (!po)
    return finding(
      action,
      'unknown-po',
      line.poNumber,
      null,
      { purchaseOrderNumber: line.poNumber },
      line.poNumber === null ? 'The document names no purchase order.' : `Purchase order ${line.poNumber} is not known for this partner.`,
    );
  const named = line.lineNumber ?? line.buyerSku ?? line.vendorSku ?? line.upc ?? '?';
  return finding(
    action,
    'unknown-po',
    po.number,
    line.lineNumber ?? null,
    { purchaseOrderNumber: po.number, line: named },
    `Purchase order ${po.number} has no line ${named}.`,
  );
}

/** One unknown-PO finding per PO number (an ASN's every item names the same missing PO). */
function dedupeUnknown(findings: readonly Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    if (f.rule !== 'unknown-po' || f.line !== null) return true;
    const key = String(f.poNumber);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function finding(action: RuleAction, rule: RuleName, poNumber: string | null, line: string | null, facts: Record<string, unknown>, message: string): Finding {
  return { rule, action, poNumber, line, facts, message };
}

/** The PO after a document's changes (a new object; the input is left as it was). */
export function applyChanges(po: PoState, changes: readonly LineChange[]): PoState {
  const lines = po.lines.map((l) => {
    const c = changes.find((x) => x.line === l.lineNumber);
    if (!c) return l;
    return {
      ...l,
      ...(c.confirmed !== undefined ? { confirmed: c.confirmed } : {}),
      ...(c.confirmedDate !== undefined ? { confirmedDate: c.confirmedDate } : {}),
      shipped: l.shipped + (c.shipped ?? 0),
      invoiced: l.invoiced + (c.invoiced ?? 0),
    };
  });
  return { ...po, lines };
}

/** Where a PO stands, from its lines' quantities. */
export function poStatus(po: Pick<PoState, 'lines'>): PoStatus {
  const { lines } = po;
  if (lines.some((l) => l.invoiced > 0)) return 'invoiced';
  const due = lines.filter((l) => expectedOf(l) > 0);
  if (lines.some((l) => l.shipped > 0)) return due.every((l) => l.shipped + EPSILON >= expectedOf(l)) ? 'shipped' : 'partially-shipped';
  if (lines.some((l) => l.confirmed !== null)) return 'acknowledged';
  return 'ordered';
}
