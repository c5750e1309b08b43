import type { Knex } from 'knex';
import { anySubscribed, publishEvents, stableEventId, type BusinessEvent } from '../delivery/events-out.js';
import type { OutboxItem } from '../delivery/transport.js';
import type { ExpiringCredential } from '../security/expiry.js';
import type { Problem } from '../errors.js';

/*
 * Where the pipeline's facts become events for subscribers (decision 0037). Each event's data
 * holds facts of its own partner only, and its id derives from the fact, so a fact published twice
 * (a retried batch, a second check) is delivered once.
 */

/** Problems an event names at most: enough to act on, bounded for a document with thousands. */
const PROBLEMS_SHOWN = 10;

interface DocumentRow {
  id: string;
  message_id: string;
  partner_id: string;
  state: 'accepted' | 'rejected';
  type: string | null;
  document_number: string | null;
  problems: Problem[];
  correlation_id: string;
}

/**
 * `document.received` for each document of these messages that was accepted, `document.rejected`
 * for each rejected one, and for a message rejected as a whole (no document could be read). Run in
 * the transaction that interpreted them; reads nothing when nobody subscribed to either.
 */
export async function publishDocumentEvents(trx: Knex.Transaction, messageIds: readonly string[]): Promise<void> {
  if (!messageIds.length || !(await anySubscribed(trx, ['document.received', 'document.rejected']))) return;
  const docs: DocumentRow[] = await trx('documents as d')
    .join('messages as m', 'm.id', 'd.message_id')
    .select('d.id', 'd.message_id', 'd.partner_id', 'd.state', 'd.type', 'd.document_number', 'd.problems', 'm.correlation_id')
    .whereIn('d.message_id', messageIds)
    .whereIn('d.state', ['accepted', 'rejected'])
    .orderBy(['d.message_id', 'd.seq']);
  const events: BusinessEvent[] = docs.map((d) => {
    const type = d.state === 'accepted' ? 'document.received' : 'document.rejected';
    const facts = { messageId: d.message_id, documentId: d.id, documentType: d.type, documentNumber: d.document_number, correlationId: d.correlation_id };
    const data = d.state === 'accepted' ? facts : { ...facts, problems: d.problems.slice(0, PROBLEMS_SHOWN) };
    return { id: stableEventId(type, d.id), type, partnerId: d.partner_id, messageId: d.message_id, data };
  });
  const wholes: { id: string; partner_id: string; problems: Problem[]; correlation_id: string }[] = await trx('messages as m')
    .select('m.id', 'm.partner_id', 'm.problems', 'm.correlation_id')
    .whereIn('m.id', messageIds)
    .andWhere('m.state', 'rejected')
    .whereNotExists((q) => q.select(trx.raw('1')).from('documents as d').whereRaw('d.message_id = m.id'));
  for (const m of wholes)
    events.push({
      id: stableEventId('document.rejected', m.id),
      type: 'document.rejected',
      partnerId: m.partner_id,
      messageId: m.id,
      data: { messageId: m.id, documentId: null, correlationId: m.correlation_id, problems: m.problems.slice(0, PROBLEMS_SHOWN) },
    });
  await publishEvents(trx, events);
}

/** `document.delivered` for each ERP delivery that succeeded (one per document and target), in the transaction that records it. */
export async function publishDocumentsDelivered(trx: Knex.Transaction, items: readonly OutboxItem[]): Promise<void> {
  await publishEvents(
    trx,
    items.flatMap((item) =>
      item.document
        ? [
            {
              id: stableEventId('document.delivered', item.id),
              type: 'document.delivered' as const,
              partnerId: item.partnerId,
              messageId: item.messageId,
              data: {
                messageId: item.messageId,
                documentId: item.document.id,
                documentType: item.document.type,
                documentNumber: item.document.documentNumber,
                correlationId: item.correlationId,
                deliveryId: item.id,
                idempotencyKey: item.idempotencyKey,
              },
            },
          ]
        : [],
    ),
  );
}

/** `ack.overdue` for outbound documents whose 997/999 is late, in the transaction that marks them. */
export async function publishAcksOverdue(
  trx: Knex.Transaction,
  rows: readonly { id: string; doc_type: string; x12_group: string; partner_id: string }[],
): Promise<void> {
  await publishEvents(
    trx,
    rows.map((r) => ({
      id: stableEventId('ack.overdue', r.id),
      type: 'ack.overdue',
      partnerId: r.partner_id,
      messageId: r.id,
      data: { messageId: r.id, documentType: r.doc_type, group: r.x12_group },
    })),
  );
}

/**
 * `credential.expiring` for each credential that expires soon: once per credential and expiry
 * date, however often it is checked (a partner's on that partner, the gateway's own on none).
 */
export async function publishExpiringCredentials(knex: Knex, expiring: readonly ExpiringCredential[]): Promise<void> {
  if (!expiring.length || !(await anySubscribed(knex, ['credential.expiring']))) return;
  await knex.transaction((trx) =>
    publishEvents(
      trx,
      expiring.map(({ credential: c, daysLeft }) => ({
        id: stableEventId('credential.expiring', c.kind, c.ref, c.partnerId ?? '', c.expiresAt?.toISOString() ?? ''),
        type: 'credential.expiring',
        partnerId: c.partnerId,
        data: { kind: c.kind, ref: c.ref, expiresAt: c.expiresAt?.toISOString() ?? null, daysLeft },
      })),
    ),
  );
}
