import type { Knex } from 'knex';
import { decodeCursor, encodeCursor } from './message-search.js';

/**
 * What waits for an operator (decision 0024): dead deliveries (attempts or age used up, or refused
 * for good by the receiver) and work that is late: deliveries past due, answers (AS2 MDNs) awaited
 * too long, acknowledgments overdue.
 */

export interface DeadLetterFilter {
  partner?: string;
  target?: string;
}

/** Dead deliveries with their document's type and numbers, the most recently dead first, keyset-paged by (updated_at, id). */
export async function deadLetters(knex: Knex, f: DeadLetterFilter, limit: number, cursor?: string) {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const q = knex('deliveries as d')
    .join('messages as m', 'm.id', 'd.message_id')
    .leftJoin('documents as doc', 'doc.id', 'd.document_id')
    .select(
      'd.id',
      'd.message_id',
      'd.partner_id',
      'd.target_id',
      'd.target',
      'd.idempotency_key',
      'd.attempts',
      'd.max_attempts',
      'd.last_error',
      'd.last_error_code',
      'd.updated_at',
      'd.created_at',
      'm.state as message_state',
      'doc.type as doc_type',
      'doc.document_number',
      'doc.po_numbers',
      knex.raw('(extract(epoch FROM d.updated_at) * 1000000)::bigint::text AS at_micros'),
    )
    .where('d.state', 'dead')
    // A dead row sent again by a redelivery is history, not a letter waiting for someone.
    .whereNotExists((q) => q.select(knex.raw('1')).from('deliveries as r').whereRaw('r.redelivery_of = d.id'))
    .orderBy([
      { column: 'd.updated_at', order: 'desc' },
      { column: 'd.id', order: 'desc' },
    ])
    .limit(limit);
  if (f.partner) q.andWhere('d.partner_id', f.partner);
  if (f.target) q.andWhere('d.target_id', f.target);
  if (after) q.andWhereRaw(`(d.updated_at, d.id) < (timestamptz 'epoch' + ?::bigint * interval '1 microsecond', ?::uuid)`, [after.atMicros, after.id]);
  const rows = await q;
  const last = rows.at(-1);
  return {
    deadLetters: rows.map((r) => ({
      deliveryId: r.id,
      messageId: r.message_id,
      messageState: r.message_state,
      partner: r.partner_id,
      target: r.target_id,
      kind: (r.target as { kind?: string }).kind ?? null,
      type: r.doc_type ?? null,
      documentNumber: r.document_number ?? null,
      purchaseOrderNumbers: (r.po_numbers as string[] | null) ?? [],
      idempotencyKey: r.idempotency_key,
      attempts: r.attempts,
      maxAttempts: r.max_attempts,
      reason: { code: r.last_error_code, message: r.last_error },
      queuedAt: r.created_at,
      deadAt: r.updated_at,
    })),
    nextCursor: rows.length === limit && last ? encodeCursor({ atMicros: last.at_micros, id: last.id }) : null,
  };
}

/**
 * Work late by more than `minutes`: deliveries whose next attempt is that far past (the loop
 * should have taken them), sends whose answer (an asynchronous MDN) has been awaited that long,
 * and outbound documents whose acknowledgment is overdue. At most `limit` of each, oldest first.
 */
export async function stuckWork(knex: Knex, minutes: number, limit: number, now: Date = new Date()) {
  const before = new Date(now.getTime() - minutes * 60_000);
  const deliveryColumns = [
    'id',
    'message_id',
    'partner_id',
    'target_id',
    'state',
    'attempts',
    'next_attempt_at',
    'last_error_code',
    'last_error',
    'updated_at',
  ];
  const [pastDue, awaitingAnswer, overdueAcks] = await Promise.all([
    knex('deliveries').select(deliveryColumns).where('state', 'pending').andWhere('next_attempt_at', '<', before).orderBy('next_attempt_at').limit(limit),
    knex('deliveries').select(deliveryColumns).where('state', 'waiting').andWhere('updated_at', '<', before).orderBy('updated_at').limit(limit),
    knex('messages')
      .select('id', 'partner_id', 'doc_type', 'file_name', 'x12_group', 'ack_due_at', 'received_at')
      .where('ack_status', 'overdue')
      .orderBy([
        { column: 'received_at', order: 'desc' },
        { column: 'id', order: 'desc' },
      ])
      .limit(limit),
  ]);
  const delivery = (r: Record<string, unknown>) => ({
    deliveryId: r.id,
    messageId: r.message_id,
    partner: r.partner_id,
    target: r.target_id,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    since: r.updated_at,
    lastError: r.last_error ? { code: r.last_error_code, message: r.last_error } : null,
  });
  return {
    olderThanMinutes: minutes,
    pastDue: pastDue.map(delivery),
    awaitingAnswer: awaitingAnswer.map(delivery),
    overdueAcknowledgments: overdueAcks.map((r) => ({
      messageId: r.id,
      partner: r.partner_id,
      type: r.doc_type,
      fileName: r.file_name,
      group: r.x12_group,
      dueAt: r.ack_due_at,
      sentAt: r.received_at,
    })),
  };
}
