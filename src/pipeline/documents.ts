import type { Knex } from 'knex';
import type { Problem } from '../errors.js';
import { COPY_FROM_ROWS, copyRows } from '../store/copy.js';

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

/** The columns interpretation sets on a document (src/pipeline/document-records.ts); the others keep their defaults. */
const INTERPRETED_COLUMNS = [
  'id',
  'message_id',
  'seq',
  'partner_id',
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
] as const;

/** A document as interpretation stores it; `canonical` and `problems` are JSON text. */
export type InterpretedDocument = NewDocument & {
  type: string | null;
  schema_version: number | null;
  profile_id: string | null;
  profile_version: number | null;
  canonical: string | null;
  problems: string;
  document_number: string | null;
  po_numbers: readonly string[];
};

/**
 * Stores interpreted documents with one COPY (a large interchange writes them a thousand at a
 * time). Only the transaction that claimed the message writes its documents, so no row can already
 * be there; a second copy would break the unique (message_id, seq) and fail the whole batch.
 */
export async function copyDocuments(trx: Knex.Transaction, rows: readonly InterpretedDocument[]): Promise<void> {
  if (rows.length < COPY_FROM_ROWS) {
    if (rows.length) await trx('documents').insert(rows.map((row) => Object.fromEntries(INTERPRETED_COLUMNS.map((column) => [column, row[column]]))));
    return;
  }
  await copyRows(
    trx,
    `COPY documents (${INTERPRETED_COLUMNS.join(', ')}) FROM STDIN`,
    rows.map((row) => INTERPRETED_COLUMNS.map((column) => row[column])),
  );
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
