import type { Knex } from 'knex';
import type { Problem } from '../errors.js';

/*
 * The `documents` table: every write to it is one of these functions (docs/architecture.md, "Who
 * writes which table").
 */

/** A document as interpretation (or the ERP API, for what we send) stores it. */
export interface NewDocument {
  id: string;
  message_id: string;
  seq: number;
  partner_id: string;
  state: 'accepted' | 'rejected' | 'duplicate';
  source_ref: string;
  [column: string]: unknown;
}

export async function insertDocuments(trx: Knex.Transaction, rows: readonly NewDocument[]): Promise<void> {
  if (rows.length) await trx('documents').insert(rows);
}

/** Rejects the accepted documents `from`…`to` of a message after all; returns their ids. */
export async function rejectDocuments(trx: Knex.Transaction, messageId: string, from: number, to: number, problems: readonly Problem[]): Promise<string[]> {
  const changed: { id: string }[] = await trx('documents')
    .where('message_id', messageId)
    .whereBetween('seq', [from, to])
    .andWhere('state', 'accepted')
    .update({ state: 'rejected', problems: JSON.stringify(problems) })
    .returning('id');
  return changed.map((c) => c.id);
}

/** Removes a message's documents before it is interpreted again (its timeline keeps their story). */
export async function deleteDocuments(trx: Knex.Transaction, messageId: string): Promise<void> {
  await trx('documents').where('message_id', messageId).del();
}
