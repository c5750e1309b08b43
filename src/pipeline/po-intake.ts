import type { Knex } from 'knex';
import type { DocumentDelivery } from '../delivery/outbox.js';
import type { TimelineEvent } from '../observability/events.js';
import type { PartnerProfile } from '../types.js';
import { holdDocument, raiseExceptions } from './business-exceptions.js';
import type { InterpretedDocument } from './documents.js';
import { evaluateDocument, type LinkedDocument } from './po-tolerances.js';
import { type LedgerOrder, linkDocument, loadOrders } from './purchase-order-ledger.js';

/** The document types linked to the POs they name. */
const LINKED_TYPES = new Set(['po-ack', 'asn', 'invoice']);

/** What interpretation writes for one document (src/pipeline/document-records.ts). */
export interface DocumentRecord {
  document: InterpretedDocument;
  deliveries: DocumentDelivery[];
  events: TimelineEvent[];
}

/**
 * At the point documents are accepted (decision 0036): links the partner's po-acks, ship notices and
 * invoices to the POs they name, checks them against its tolerances (a pure evaluation), raises an
 * exception per broken rule and holds a document whose rule says so. Returns the records to write,
 * a held document's deliveries (and their `routed` lines) taken out: it is queued when released.
 * Runs in the transaction that stores the documents, after they are written.
 */
export async function linkToPurchaseOrders(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  records: readonly DocumentRecord[],
): Promise<readonly DocumentRecord[]> {
  const candidates = records.filter((r) => r.document.state === 'accepted' && LINKED_TYPES.has(r.document.type ?? ''));
  if (!candidates.length) return records;
  const rules = partner.tolerances ?? {};
  const orders = await loadOrders(
    trx,
    partner.id,
    candidates.flatMap((r) => r.document.po_numbers),
  );
  if (!orders.size && !rules.unknownPo && !rules.duplicateInvoice) return records;
  const seenInvoices = rules.duplicateInvoice ? await acceptedInvoiceNumbers(trx, partner.id, candidates) : new Set<string>();
  const held = new Set<string>();
  for (const { document } of candidates) {
    const names = document.po_numbers.some((n) => orders.has(n));
    if (!names && !rules.unknownPo && !(rules.duplicateInvoice && document.type === 'invoice')) continue;
    if (await linkOne(trx, partner, document, orders, seenInvoices)) held.add(document.id);
  }
  if (!held.size) return records;
  return records.map((r) => (held.has(r.document.id) ? { ...r, deliveries: [], events: r.events.filter((e) => e.type !== 'routed') } : r));
}

/**
 * Of many messages' records, the partners whose documents may need linking: those with rules that
 * apply without a known PO, and those that hold a PO one of the documents names (one query).
 */
export async function partnersToLink(
  trx: Knex.Transaction,
  batch: readonly { partner: PartnerProfile; records: readonly DocumentRecord[] }[],
): Promise<Set<string>> {
  const wanted = new Set<string>();
  const pairs: [string, string][] = [];
  for (const { partner, records } of batch)
    for (const r of records) {
      if (r.document.state !== 'accepted' || !LINKED_TYPES.has(r.document.type ?? '')) continue;
      if (partner.tolerances?.unknownPo || partner.tolerances?.duplicateInvoice) wanted.add(partner.id);
      else for (const n of r.document.po_numbers) pairs.push([partner.id, n]);
    }
  if (!pairs.length) return wanted;
  const { rows } = await trx.raw<{ rows: { partner_id: string }[] }>(
    `SELECT DISTINCT o.partner_id FROM purchase_orders o
       JOIN unnest(?::text[], ?::text[]) AS x(partner_id, po_number) ON o.partner_id = x.partner_id AND o.po_number = x.po_number`,
    [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
  );
  for (const r of rows) wanted.add(r.partner_id);
  return wanted;
}

/** Links and checks one document; true when it is held. `orders` and `seenInvoices` are kept current. */
async function linkOne(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  document: InterpretedDocument,
  orders: Map<string, LedgerOrder>,
  seenInvoices: Set<string>,
): Promise<boolean> {
  const linked = { type: document.type, number: document.document_number, canonical: JSON.parse(document.canonical as string) } as LinkedDocument;
  const invoiceSeen = document.type === 'invoice' && document.document_number !== null && seenInvoices.has(document.document_number);
  const result = evaluateDocument(linked, orders, partner.tolerances ?? {}, { invoiceSeen });
  if (document.type === 'invoice' && document.document_number !== null) seenInvoices.add(document.document_number);
  const ref = { documentId: document.id, messageId: document.message_id, type: linked.type, documentNumber: document.document_number };
  for (const link of result.links) {
    const order = orders.get(link.poNumber) as LedgerOrder;
    orders.set(link.poNumber, await linkDocument(trx, order, { ...ref, lines: link.lines }));
  }
  const on = { documentId: document.id, messageId: document.message_id, partnerId: partner.id };
  const poIds = new Map([...orders].map(([n, o]) => [n, o.id]));
  const raised = await raiseExceptions(trx, on, result.findings, poIds);
  if (result.hold) await holdDocument(trx, on, raised);
  return result.hold;
}

/** Invoice numbers among these documents that the partner used on an invoice accepted before. */
async function acceptedInvoiceNumbers(trx: Knex.Transaction, partnerId: string, records: readonly DocumentRecord[]): Promise<Set<string>> {
  const invoices = records.filter((r) => r.document.type === 'invoice' && r.document.document_number !== null);
  if (!invoices.length) return new Set();
  const rows: { document_number: string }[] = await trx('documents')
    .distinct('document_number')
    .where({ partner_id: partnerId, type: 'invoice', state: 'accepted' })
    .whereIn(
      'document_number',
      invoices.map((r) => r.document.document_number as string),
    )
    .whereNotIn(
      'id',
      invoices.map((r) => r.document.id),
    );
  return new Set(rows.map((r) => r.document_number));
}
