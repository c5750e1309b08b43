import type { Knex } from 'knex';
import { timelineOf } from '../observability/events.js';
import type { OutboxTarget } from '../delivery/transport.js';
import type { DeliveryState, MessageState } from '../types.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A message as its partner may see it: state, documents (canonical or problems), deliveries and the
 * timeline. Scoped by partner: another partner's message is indistinguishable from a missing one.
 */
export async function messageStatus(knex: Knex, partnerId: string | undefined, id: string) {
  if (!UUID.test(id)) return undefined;
  const q = knex('messages')
    .select(
      'id',
      'partner_id',
      'channel',
      'direction',
      'doc_type',
      'file_name',
      'ack_status',
      'ack_due_at',
      'related_message_id',
      'content_type',
      'format',
      'size_bytes',
      'sha256',
      'correlation_id',
      'state',
      'problems',
      'received_at',
      'processed_at',
    )
    .where('id', id);
  if (partnerId !== undefined) q.andWhere('partner_id', partnerId);
  const m = await q.first();
  if (!m) return undefined;
  const [documents, deliveries, events, answers, as2] = await Promise.all([
    knex('documents')
      .select(
        'id',
        'seq',
        'type',
        'schema_version',
        'profile_id',
        'profile_version',
        'state',
        'canonical',
        'problems',
        'document_number',
        'po_numbers',
        'source_ref',
      )
      .where('message_id', id)
      .orderBy('seq'),
    knex('deliveries')
      .select(
        'id',
        'document_id',
        'target_id',
        'target',
        'idempotency_key',
        'state',
        'attempts',
        'max_attempts',
        'next_attempt_at',
        'last_error',
        'last_error_code',
        'delivered_at',
      )
      .where('message_id', id)
      .orderBy('created_at'),
    timelineOf(knex, id),
    knex('messages')
      .select('id', 'doc_type', 'file_name', 'state', 'received_at')
      .where({ related_message_id: id, direction: 'outbound' })
      .orderBy('received_at'),
    knex('as2_messages')
      .select('as2_message_id', 'direction', 'status', 'disposition', 'layers', 'mic', 'mic_alg', 'mdn_mode')
      .where('message_id', id)
      .orderByRaw('duplicate_of IS NOT NULL, created_at')
      .first(),
  ]);
  return {
    id: m.id,
    partner: m.partner_id,
    channel: m.channel,
    contentType: m.content_type,
    format: m.format,
    sizeBytes: m.size_bytes,
    sha256: m.sha256,
    correlationId: m.correlation_id,
    direction: m.direction,
    ...(m.doc_type ? { type: m.doc_type, fileName: m.file_name } : {}),
    ...(m.ack_status ? { acknowledgment: { status: m.ack_status, dueAt: m.ack_due_at, messageId: m.related_message_id } } : {}),
    state: m.state as MessageState,
    problems: m.problems,
    /** AS2 messages: the Message-ID, what protected it, the MIC and the MDN's outcome (outbound: pending, processed, failed, mic-invalid). */
    ...(as2
      ? {
          as2: {
            messageId: as2.as2_message_id,
            status: as2.status,
            disposition: as2.disposition,
            layers: as2.layers,
            mic: as2.mic ? `${as2.mic}, ${as2.mic_alg}` : null,
            mdn: as2.mdn_mode,
            ...(as2.direction === 'outbound' ? as2SendOf(deliveries, id) : {}),
          },
        }
      : {}),
    /** Acknowledgments (TA1, 997, 999) the gateway sent for this message. */
    acknowledgments: answers.map((a) => ({ id: a.id, type: a.doc_type, fileName: a.file_name, state: a.state, createdAt: a.received_at })),
    receivedAt: m.received_at,
    processedAt: m.processed_at,
    documents: documents.map((d) => ({
      id: d.id,
      seq: d.seq,
      type: d.type,
      schemaVersion: d.schema_version,
      profile: d.profile_id ? { id: d.profile_id, version: d.profile_version } : null,
      state: d.state,
      documentNumber: d.document_number,
      purchaseOrderNumbers: d.po_numbers,
      source: d.source_ref,
      problems: d.problems,
      canonical: d.canonical,
    })),
    deliveries: deliveries.map((d) => ({
      id: d.id,
      documentId: d.document_id,
      target: d.target_id,
      /** http, file, amqp, nats (the ERP's routes); as2, sftp (a push to the partner); as2-mdn (an MDN we owe); event (to a subscriber, 0037). */
      kind: (d.target as OutboxTarget).kind,
      idempotencyKey: d.idempotency_key,
      state: d.state as DeliveryState,
      attempts: d.attempts,
      maxAttempts: d.max_attempts,
      nextAttemptAt: d.state === 'pending' || d.state === 'waiting' ? d.next_attempt_at : null,
      lastError: d.last_error ? { code: d.last_error_code, message: d.last_error } : null,
      deliveredAt: d.delivered_at,
    })),
    timeline: events.map((e) => ({
      at: e.at,
      type: e.type,
      ...(e.code ? { code: e.code } : {}),
      detail: e.detail,
      ...(e.data ? { data: e.data } : {}),
      ...(e.document_id ? { documentId: e.document_id } : {}),
      ...(e.delivery_id ? { deliveryId: e.delivery_id } : {}),
    })),
  };
}

/** An AS2 send's attempts and last error: its outbox delivery's. */
function as2SendOf(deliveries: { idempotency_key: string; attempts: number; last_error: string | null }[], messageId: string) {
  const send = deliveries.find((d) => d.idempotency_key === `as2:${messageId}`);
  return { attempts: send?.attempts ?? 0, lastError: send?.last_error ?? null };
}
