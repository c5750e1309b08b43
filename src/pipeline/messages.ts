import type { Knex } from 'knex';
import type { Problem } from '../errors.js';
import type { MessageState } from '../types.js';

/*
 * The `messages` table: every write to it is one of these functions (docs/architecture.md, "Who
 * writes which table"). Reads stay with their callers.
 */

/** A new row: its id and partner, its state when not `received`, and the columns its door knows. */
export interface NewMessage {
  id: string;
  partner_id: string;
  state?: MessageState;
  [column: string]: unknown;
}

/**
 * The insert of a batch of received messages, not run yet (the Receiver runs it in the statement
 * that writes their timeline); a row whose (partner, Idempotency-Key) was stored before is skipped.
 * It returns the ids stored.
 */
export function insertMessagesStatement(db: Knex, rows: readonly NewMessage[]): Knex.QueryBuilder {
  return db('messages').insert(rows).onConflict(['partner_id', 'idempotency_key']).ignore().returning('id');
}

export async function insertMessage(trx: Knex.Transaction, row: NewMessage): Promise<void> {
  await trx('messages').insert(row);
}

/**
 * Inserts a message whose bytes were staged in `message_chunks` under its id: they stay there, and
 * its `raw` is NULL (src/pipeline/raw-store.ts). False when the chunks do not add up to
 * `sizeBytes` (nothing is inserted then).
 */
export async function insertChunkedMessage(trx: Knex.Transaction, row: NewMessage & { size_bytes: number }): Promise<boolean> {
  const columns = ['id', 'partner_id', 'channel', 'content_type', 'format', 'size_bytes', 'sha256', 'correlation_id', 'file_name', 'scopes'] as const;
  const { rowCount } = await trx.raw<{ rowCount: number }>(
    `INSERT INTO messages (${columns.join(', ')})
     SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::text[]
      WHERE (SELECT coalesce(sum(length(data)), 0) FROM message_chunks WHERE message_id = ?) = ?`,
    [...columns.map((c) => (row[c] ?? null) as Knex.Value), row.id, row.size_bytes],
  );
  return rowCount === 1;
}

/** Interpretation ended (routed, rejected, processed …): its state and problems, one more attempt. */
export async function finishInterpretation(trx: Knex.Transaction, id: string, state: MessageState, problems: readonly Problem[]): Promise<void> {
  await trx('messages')
    .where('id', id)
    .update({ state, problems: JSON.stringify(problems), processed_at: trx.fn.now(), updated_at: trx.fn.now(), attempts: trx.raw('attempts + 1') });
}

/** Interpretation stopped on an unexpected error: `failed`, replayable, with the problem that says why. */
export async function markFailed(trx: Knex.Transaction, id: string, problem: Problem): Promise<void> {
  await trx('messages')
    .where('id', id)
    .update({ state: 'failed' satisfies MessageState, problems: JSON.stringify([problem]), attempts: trx.raw('attempts + 1'), updated_at: trx.fn.now() });
}

/** Back to `received`, problems cleared: interpreted again from the stored raw bytes. */
export async function resetForInterpretation(trx: Knex.Transaction, id: string): Promise<void> {
  await trx('messages')
    .where('id', id)
    .update({ state: 'received' satisfies MessageState, problems: '[]', processed_at: null, updated_at: trx.fn.now() });
}

export async function setMessageState(trx: Knex.Transaction, id: string, state: MessageState): Promise<void> {
  await trx('messages').where('id', id).update({ state, updated_at: trx.fn.now() });
}

/**
 * Routed messages are delivered once none of their document deliveries is outstanding (an MDN we
 * owe is not one) and none of their documents is held for a person (decision 0036).
 */
export async function markDeliveredIfComplete(trx: Knex.Transaction, ids: readonly string[]): Promise<void> {
  await trx.raw(
    `UPDATE messages m SET state = 'delivered', updated_at = now()
      WHERE m.id = ANY(:ids::uuid[]) AND m.state = 'routed'
        AND NOT EXISTS (SELECT 1 FROM document_holds h WHERE h.message_id = m.id AND h.state = 'held')
        AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.message_id = m.id AND d.document_id IS NOT NULL AND d.state <> 'delivered'
          AND NOT EXISTS (SELECT 1 FROM deliveries r WHERE r.redelivery_of = d.id))`,
    { ids: [...ids] },
  );
}

/** A mailbox document reached its partner (collected, or pushed). Returns 0 when it was collected before (or is another partner's). */
export async function markCollected(trx: Knex.Transaction, id: string, partnerId?: string): Promise<number> {
  const q = trx('messages').where({ id, direction: 'outbound' }).whereNull('collected_at');
  if (partnerId) q.andWhere('partner_id', partnerId);
  return q.update({ state: 'collected' satisfies MessageState, collected_at: trx.fn.now(), updated_at: trx.fn.now() });
}

/** What the partner's acknowledgment (997, 999, TA1) says of a document we sent. */
export async function setAckStatus(trx: Knex.Transaction, id: string, status: string): Promise<void> {
  await trx('messages').where('id', id).update({ ack_status: status, updated_at: trx.fn.now() });
}

/** Documents we sent whose acknowledgment is late: marked `overdue`, and returned. */
export async function markAcksOverdue(trx: Knex.Transaction): Promise<{ id: string; doc_type: string; x12_group: string; partner_id: string }[]> {
  return trx('messages')
    .update({ ack_status: 'overdue', updated_at: trx.fn.now() })
    .where('ack_status', 'pending')
    .andWhere('ack_due_at', '<', trx.fn.now())
    .returning(['id', 'doc_type', 'x12_group', 'partner_id']);
}

/** Several interpretations ended at once: one statement sets each message's state and problems. */
export async function finishInterpretations(
  trx: Knex.Transaction,
  finished: readonly { id: string; state: MessageState; problems: readonly Problem[] }[],
): Promise<void> {
  if (!finished.length) return;
  await trx.raw(
    `UPDATE messages m SET state = v.state, problems = v.problems, processed_at = now(), updated_at = now(), attempts = m.attempts + 1
       FROM jsonb_to_recordset(?::jsonb) AS v(id uuid, state text, problems jsonb)
      WHERE m.id = v.id`,
    [JSON.stringify(finished)],
  );
}
