import type { Knex } from 'knex';
import type { AsnV1, PurchaseOrderV1 } from '../canonical/index.js';

/**
 * The purchase orders the ERP sent a partner (stored as `purchase-order` documents of outbound
 * messages, src/pipeline/purchase-orders.ts) and the documents that name them since: what the
 * supplier's dashboard and forms read (decision 0028). Every query names the partner.
 */

export interface LinkedDocument {
  documentId: string;
  messageId: string;
  type: string;
  documentNumber: string | null;
  state: string;
  createdAt: Date;
}

export interface SentOrder {
  documentId: string;
  messageId: string;
  number: string;
  order: PurchaseOrderV1;
  sentAt: Date;
  linked: LinkedDocument[];
}

export interface ShipNotice {
  documentId: string;
  messageId: string;
  asn: AsnV1;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What answers an order: ship notices, invoices, acknowledgments. */
const ANSWER_TYPES = ['asn', 'invoice', 'po-ack'];

interface OrderRow {
  id: string;
  message_id: string;
  document_number: string;
  canonical: PurchaseOrderV1;
  created_at: Date;
}

/** The partner's newest purchase orders, each with the documents that name its number. */
export async function listSentOrders(knex: Knex, partnerId: string, limit = 20): Promise<SentOrder[]> {
  const rows: OrderRow[] = await knex('documents')
    .select('id', 'message_id', 'document_number', 'canonical', 'created_at')
    .where({ partner_id: partnerId, type: 'purchase-order', state: 'accepted' })
    .orderBy('created_at', 'desc')
    .limit(limit);
  const linked = await linkedDocuments(
    knex,
    partnerId,
    rows.map((r) => r.document_number),
  );
  return rows.map((r) => ({ ...orderOf(r), linked: linked.filter((l) => l.poNumbers.includes(r.document_number)).map(({ poNumbers: _, ...l }) => l) }));
}

/** One purchase order of the partner, by its document id or its message id. */
export async function findSentOrder(knex: Knex, partnerId: string, id: string): Promise<SentOrder | undefined> {
  if (!UUID.test(id)) return undefined;
  const row: OrderRow | undefined = await knex('documents')
    .select('id', 'message_id', 'document_number', 'canonical', 'created_at')
    .where({ partner_id: partnerId, type: 'purchase-order', state: 'accepted' })
    .andWhere((q) => q.where('id', id).orWhere('message_id', id))
    .first();
  if (!row) return undefined;
  const linked = await linkedDocuments(knex, partnerId, [row.document_number]);
  return { ...orderOf(row), linked: linked.map(({ poNumbers: _, ...l }) => l) };
}

/** One accepted ship notice of the partner, by its document id or its message id. */
export async function findShipNotice(knex: Knex, partnerId: string, id: string): Promise<ShipNotice | undefined> {
  if (!UUID.test(id)) return undefined;
  const row = await knex('documents')
    .select('id', 'message_id', 'canonical')
    .where({ partner_id: partnerId, type: 'asn', state: 'accepted' })
    .andWhere((q) => q.where('id', id).orWhere('message_id', id))
    .first();
  return row ? { documentId: row.id, messageId: row.message_id, asn: row.canonical } : undefined;
}

/** The purchase order a ship notice answers: the partner's newest order of its first order number. */
export async function orderOfNumber(knex: Knex, partnerId: string, number: string): Promise<SentOrder | undefined> {
  const row: { id: string } | undefined = await knex('documents')
    .select('id')
    .where({ partner_id: partnerId, type: 'purchase-order', state: 'accepted', document_number: number })
    .orderBy('created_at', 'desc')
    .first();
  return row ? findSentOrder(knex, partnerId, row.id) : undefined;
}

function orderOf(r: OrderRow): Omit<SentOrder, 'linked'> {
  return { documentId: r.id, messageId: r.message_id, number: r.document_number, order: r.canonical, sentAt: r.created_at };
}

async function linkedDocuments(knex: Knex, partnerId: string, numbers: string[]): Promise<(LinkedDocument & { poNumbers: string[] })[]> {
  if (!numbers.length) return [];
  const rows = await knex('documents')
    .select('id', 'message_id', 'type', 'document_number', 'state', 'po_numbers', 'created_at')
    .where({ partner_id: partnerId })
    .whereIn('type', ANSWER_TYPES)
    .whereRaw('po_numbers && ?::text[]', [numbers])
    .orderBy('created_at');
  return rows.map((r) => ({
    documentId: r.id,
    messageId: r.message_id,
    type: r.type,
    documentNumber: r.document_number,
    state: r.state,
    createdAt: r.created_at,
    poNumbers: r.po_numbers,
  }));
}
