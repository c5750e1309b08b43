import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { checkCanonical } from '../canonical/index.js';
import type { PurchaseOrderV1 } from '../canonical/types.js';
import { GatewayError } from '../errors.js';
import { noteBusinessEvent } from './po-events.js';
import { applyChanges, type LineChange, type PoLine, type PoState, type PoStatus, poStatus } from './po-tolerances.js';

/*
 * The purchase-order ledger (decision 0036): the `purchase_orders`, `purchase_order_lines` and
 * `purchase_order_documents` tables are written only here. A PO enters when the gateway sends it
 * (src/pipeline/purchase-orders.ts) or the ERP registers it; po-acks, ship notices and invoices are
 * linked as they are accepted (src/pipeline/po-intake.ts).
 */

/** A PO as the ledger holds it: its lines' quantities and where it stands. */
export interface LedgerOrder extends PoState {
  partnerId: string;
  status: PoStatus;
}

/**
 * Enters a PO in the ledger. `registered` (the ERP sent it another way) is refused with GW_PO_EXISTS
 * when the partner's PO number is known; a PO the gateway sends again (a change) updates its lines'
 * ordered quantities and prices and keeps what was linked to them.
 */
export async function enterPurchaseOrder(
  trx: Knex.Transaction,
  partnerId: string,
  po: PurchaseOrderV1,
  source: 'sent' | 'registered',
  messageId: string | null,
): Promise<{ id: string; created: boolean }> {
  // ON CONFLICT: two sends of one new number at once both succeed; the second waits for the first.
  const inserted: { id: string }[] = await trx('purchase_orders')
    .insert({
      id: randomUUID(),
      partner_id: partnerId,
      po_number: po.purchaseOrderNumber,
      source,
      message_id: messageId,
      order_date: po.orderDate,
      currency: po.currency ?? null,
    })
    .onConflict(['partner_id', 'po_number'])
    .ignore()
    .returning('id');
  const created = inserted.length > 0;
  if (!created && source === 'registered')
    throw new GatewayError('GW_PO_EXISTS', `Purchase order ${po.purchaseOrderNumber} is already known for partner ${partnerId}.`);
  const id: string =
    inserted[0]?.id ?? (await trx('purchase_orders').first('id').where({ partner_id: partnerId, po_number: po.purchaseOrderNumber }).forUpdate()).id;
  const lines = po.lines.map((l, i) => ({
    po_id: id,
    line_number: l.lineNumber ?? String(i + 1),
    position: i + 1,
    item: JSON.stringify({ buyerSku: l.buyerSku, vendorSku: l.vendorSku, upc: l.upc, description: l.description }),
    unit: l.unit,
    unit_price: l.unitPrice ?? null,
    ordered: l.quantity,
  }));
  await trx('purchase_order_lines').insert(lines).onConflict(['po_id', 'line_number']).merge(['item', 'unit', 'unit_price', 'ordered', 'position']);
  await trx('purchase_order_documents').insert({
    po_id: id,
    document_id: null,
    message_id: messageId,
    type: 'purchase-order',
    document_number: po.purchaseOrderNumber,
    lines: JSON.stringify(lines.map((l) => ({ line: l.line_number, ordered: l.ordered }))),
  });
  if (created)
    await noteBusinessEvent(trx, {
      type: 'po.status-changed',
      partnerId,
      ...(messageId ? { messageId } : {}),
      detail: `Purchase order ${po.purchaseOrderNumber} ${source === 'sent' ? 'sent' : 'registered by the ERP'}: ordered, ${lines.length} line(s)`,
      data: { poNumber: po.purchaseOrderNumber, from: null, to: 'ordered' },
    });
  return { id, created };
}

/**
 * The ERP registers a PO it sent the partner another way (mail, the partner's own portal): checked
 * against the canonical purchase-order schema, entered in the ledger, so the partner's po-acks,
 * ship notices and invoices are linked to it like those of a PO the gateway sent.
 */
/** The ERP's purchase order checked against the canonical schema; GW_CANONICAL_INVALID with every problem otherwise. */
export function checkedPurchaseOrder(body: unknown): PurchaseOrderV1 {
  const checked = checkCanonical('purchase-order', 1, body);
  if (checked.ok) return checked.document;
  const { problems } = checked;
  throw new GatewayError(
    'GW_CANONICAL_INVALID',
    `The purchase order breaks the canonical schema purchase-order v1: ${problems.map((p) => p.message).join(' ')}`,
    {
      problems,
      ...(problems[0]?.location ? { location: problems[0].location } : {}),
    },
  );
}

export async function registerPurchaseOrder(knex: Knex, partnerId: string, body: unknown): Promise<{ id: string }> {
  return knex.transaction((trx) => enterPurchaseOrder(trx, partnerId, checkedPurchaseOrder(body), 'registered', null));
}

/** The partner's POs of these numbers, with their lines, by number. */
export async function loadOrders(db: Knex | Knex.Transaction, partnerId: string, numbers: readonly string[]): Promise<Map<string, LedgerOrder>> {
  const found = new Map<string, LedgerOrder>();
  if (!numbers.length) return found;
  const orders: { id: string; po_number: string; status: PoStatus }[] = await db('purchase_orders')
    .select('id', 'po_number', 'status')
    .where('partner_id', partnerId)
    .whereIn('po_number', [...new Set(numbers)]);
  if (!orders.length) return found;
  const lines = await db('purchase_order_lines')
    .whereIn(
      'po_id',
      orders.map((o) => o.id),
    )
    .orderBy(['po_id', 'position']);
  for (const o of orders)
    found.set(o.po_number, {
      id: o.id,
      number: o.po_number,
      partnerId,
      status: o.status,
      lines: lines.filter((l) => l.po_id === o.id).map(lineOf),
    });
  return found;
}

const num = (v: unknown): number => Number(v);
const dateText = (v: unknown): string | null => (v instanceof Date ? v.toISOString().slice(0, 10) : v ? String(v).slice(0, 10) : null);

function lineOf(r: Record<string, unknown>): PoLine {
  return {
    lineNumber: String(r.line_number),
    item: r.item as PoLine['item'],
    unitPrice: r.unit_price === null ? null : num(r.unit_price),
    ordered: num(r.ordered),
    confirmed: r.confirmed === null ? null : num(r.confirmed),
    confirmedDate: dateText(r.confirmed_date),
    shipped: num(r.shipped),
    invoiced: num(r.invoiced),
  };
}

/** A document's link to one PO: what it changed per line. */
export interface DocumentLink {
  documentId: string;
  messageId: string;
  type: string;
  documentNumber: string | null;
  lines: readonly LineChange[];
}

/**
 * Writes a document's changes to a PO's lines and links it; returns the PO as it stands now. Notes
 * `po.status-changed` when its status moved.
 */
export async function linkDocument(trx: Knex.Transaction, order: LedgerOrder, link: DocumentLink): Promise<LedgerOrder> {
  for (const c of link.lines)
    await trx('purchase_order_lines')
      .where({ po_id: order.id, line_number: c.line })
      .update({
        ...(c.confirmed !== undefined ? { confirmed: c.confirmed } : {}),
        ...(c.confirmedDate !== undefined ? { confirmed_date: c.confirmedDate } : {}),
        ...(c.shipped ? { shipped: trx.raw('shipped + ?', [c.shipped]) } : {}),
        ...(c.invoiced ? { invoiced: trx.raw('invoiced + ?', [c.invoiced]) } : {}),
      });
  await trx('purchase_order_documents').insert({
    po_id: order.id,
    document_id: link.documentId,
    message_id: link.messageId,
    type: link.type,
    document_number: link.documentNumber,
    lines: JSON.stringify(link.lines),
  });
  const next = { ...order, ...applyChanges(order, link.lines) };
  return setStatus(trx, next, poStatus(next), link);
}

async function setStatus(
  trx: Knex.Transaction,
  order: LedgerOrder,
  status: PoStatus,
  link?: Pick<DocumentLink, 'documentId' | 'messageId' | 'type' | 'documentNumber'>,
) {
  await trx('purchase_orders').where('id', order.id).update({ status, updated_at: trx.fn.now() });
  if (status !== order.status)
    await noteBusinessEvent(trx, {
      type: 'po.status-changed',
      partnerId: order.partnerId,
      ...(link ? { messageId: link.messageId, documentId: link.documentId } : {}),
      detail: `Purchase order ${order.number}: ${order.status} → ${status}${link ? ` (${link.type} ${link.documentNumber ?? ''})` : ''}`,
      data: { poNumber: order.number, from: order.status, to: status },
    });
  return { ...order, status };
}

/**
 * Takes documents off the POs they were linked to (their interchange or group was rejected after
 * they were accepted): shipped and invoiced quantities they added are subtracted. A po-ack's
 * confirmation stays, as the supplier said it.
 */
export async function unlinkDocuments(trx: Knex.Transaction, documentIds: readonly string[]): Promise<void> {
  if (!documentIds.length) return;
  const links: { po_id: string; lines: LineChange[] }[] = await trx('purchase_order_documents')
    .select('po_id', 'lines')
    .whereIn('document_id', documentIds as string[]);
  for (const link of links)
    for (const c of link.lines)
      if (c.shipped || c.invoiced)
        await trx('purchase_order_lines')
          .where({ po_id: link.po_id, line_number: c.line })
          .update({ shipped: trx.raw('shipped - ?', [c.shipped ?? 0]), invoiced: trx.raw('invoiced - ?', [c.invoiced ?? 0]) });
  await trx('purchase_order_documents')
    .whereIn('document_id', documentIds as string[])
    .del();
  const orders: { id: string; po_number: string; partner_id: string; status: PoStatus }[] = await trx('purchase_orders')
    .select('id', 'po_number', 'partner_id', 'status')
    .whereIn('id', [...new Set(links.map((l) => l.po_id))]);
  for (const o of orders) {
    const current = (await loadOrders(trx, o.partner_id, [o.po_number])).get(o.po_number)!;
    await setStatus(trx, current, poStatus(current));
  }
}
