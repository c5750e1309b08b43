import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import { applyChanges, type LineChange, type PoState, type PoStatus, poStatus } from './po-tolerances.js';

/*
 * Reading the purchase-order ledger (decision 0036): one PO's timeline with each line's ordered,
 * confirmed, shipped and invoiced quantities after each step, and a partner's list of its POs.
 */

export interface PoLineView {
  lineNumber: string;
  item: Record<string, string | undefined>;
  unit: string;
  unitPrice: number | null;
  ordered: number;
  confirmed: number | null;
  confirmedDate: string | null;
  shipped: number;
  invoiced: number;
}

/** One step of a PO's timeline: a document that named it, and where the PO stood after it. */
export interface PoStep {
  at: Date;
  type: string;
  documentNumber: string | null;
  documentId: string | null;
  messageId: string | null;
  /** What the document set or added, per line. */
  changes: LineChange[];
  status: PoStatus;
  /** Each line's quantities after this step. */
  lines: { lineNumber: string; ordered: number; confirmed: number | null; shipped: number; invoiced: number }[];
  /** The document is held for a person (held), or was released or rejected. */
  hold?: string;
}

export interface PurchaseOrderView {
  partnerId: string;
  purchaseOrderNumber: string;
  source: 'sent' | 'registered';
  status: PoStatus;
  orderDate: string | null;
  currency: string | null;
  messageId: string | null;
  lines: PoLineView[];
  timeline: PoStep[];
  exceptions: { id: string; rule: string; action: string; state: string; documentId: string; facts: Record<string, unknown> }[];
}

/**
 * A PO with its timeline. Without `partnerId`, a number two partners use is ambiguous
 * (GW_PO_AMBIGUOUS: ask again with the partner).
 */
export async function purchaseOrderView(knex: Knex, poNumber: string, partnerId?: string): Promise<PurchaseOrderView | undefined> {
  const q = knex('purchase_orders').select('*').where('po_number', poNumber).limit(10);
  if (partnerId) q.where('partner_id', partnerId);
  const found = await q;
  if (found.length > 1)
    throw new GatewayError(
      'GW_PO_AMBIGUOUS',
      `Purchase order ${poNumber} is known for partners ${found.map((o) => o.partner_id).join(', ')}; ask again with ?partner=<id>.`,
    );
  const o = found[0];
  if (!o) return undefined;
  const [lines, links, exceptions] = await Promise.all([
    knex('purchase_order_lines').where('po_id', o.id).orderBy('position'),
    knex('purchase_order_documents as l')
      .leftJoin('document_holds as h', 'h.document_id', 'l.document_id')
      .select('l.*', 'h.state as hold')
      .where('l.po_id', o.id)
      .orderBy('l.id'),
    knex('business_exceptions').select('id', 'rule', 'action', 'state', 'document_id', 'facts').where('po_id', o.id).orderBy('created_at'),
  ]);
  return {
    partnerId: o.partner_id,
    purchaseOrderNumber: o.po_number,
    source: o.source,
    status: o.status,
    orderDate: dateText(o.order_date),
    currency: o.currency,
    messageId: o.message_id,
    lines: lines.map((l) => ({
      lineNumber: l.line_number,
      item: l.item,
      unit: l.unit,
      unitPrice: l.unit_price === null ? null : Number(l.unit_price),
      ordered: Number(l.ordered),
      confirmed: l.confirmed === null ? null : Number(l.confirmed),
      confirmedDate: dateText(l.confirmed_date),
      shipped: Number(l.shipped),
      invoiced: Number(l.invoiced),
    })),
    timeline: replay(links),
    exceptions: exceptions.map((e) => ({ id: e.id, rule: e.rule, action: e.action, state: e.state, documentId: e.document_id, facts: e.facts })),
  };
}

/** A row of `purchase_order_documents` with its document's hold. */
interface LinkRow {
  at: Date;
  type: string;
  document_number: string | null;
  document_id: string | null;
  message_id: string | null;
  lines: (LineChange & { ordered?: number })[];
  hold: string | null;
}

/** The steps in order, each with the quantities the PO's lines had after it. */
function replay(links: readonly LinkRow[]): PoStep[] {
  let po: PoState = { id: '', number: '', lines: [] };
  return links.map((link) => {
    const changes = link.lines;
    if (link.type === 'purchase-order') po = withOrdered(po, changes);
    else po = applyChanges(po, changes);
    return {
      at: link.at,
      type: link.type,
      documentNumber: link.document_number,
      documentId: link.document_id,
      messageId: link.message_id,
      changes: link.type === 'purchase-order' ? [] : changes,
      status: poStatus(po),
      lines: po.lines.map((l) => ({ lineNumber: l.lineNumber, ordered: l.ordered, confirmed: l.confirmed, shipped: l.shipped, invoiced: l.invoiced })),
      ...(link.hold ? { hold: link.hold } : {}),
    };
  });
}

/** The PO after it was sent or registered (again): its lines' ordered quantities. */
function withOrdered(po: PoState, ordered: readonly { line: string; ordered?: number }[]): PoState {
  const lines = ordered.map((o) => {
    const was = po.lines.find((l) => l.lineNumber === o.line);
    return was
      ? { ...was, ordered: Number(o.ordered) }
      : { lineNumber: o.line, item: {}, unitPrice: null, ordered: Number(o.ordered), confirmed: null, confirmedDate: null, shipped: 0, invoiced: 0 };
  });
  return { ...po, lines: [...lines, ...po.lines.filter((l) => !ordered.some((o) => o.line === l.lineNumber))] };
}

const dateText = (v: unknown): string | null => (v instanceof Date ? v.toISOString().slice(0, 10) : v ? String(v).slice(0, 10) : null);

/** A partner's POs, newest first (at most `limit`). */
export async function listPurchaseOrders(
  knex: Knex,
  partnerId: string,
  limit: number,
): Promise<{ purchaseOrderNumber: string; status: PoStatus; source: string; orderDate: string | null; updatedAt: Date }[]> {
  const rows = await knex('purchase_orders')
    .select('po_number', 'status', 'source', 'order_date', 'updated_at')
    .where('partner_id', partnerId)
    .orderBy('created_at', 'desc')
    .limit(limit);
  return rows.map((r) => ({
    purchaseOrderNumber: r.po_number,
    status: r.status,
    source: r.source,
    orderDate: dateText(r.order_date),
    updatedAt: r.updated_at,
  }));
}
