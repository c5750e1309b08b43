import { finished } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * A field as COPY's text format takes it: null (or undefined) is NULL, a list of strings is a
 * `text[]`, JSON columns come already serialized.
 */
export type CopyValue = string | number | boolean | null | undefined | readonly string[];

/** Rows written to the socket at a time (one CopyData message each). */
const ROWS_PER_CHUNK = 256;

const SPECIAL = /[\\\n\r\t]/;
const SPECIALS = /[\\\n\r\t]/g;
const ESCAPED: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A `text[]` literal: every element quoted, so commas, braces and spaces stay inside it. */
function arrayLiteral(items: readonly string[]): string {
  return `{${items.map((s) => `"${s.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;
}

/** @see https://www.postgresql.org/docs/current/sql-copy.html ("Text Format") */
function field(value: CopyValue): string {
  if (value === null || value === undefined) return '\\N';
  const text = typeof value === 'string' ? value : typeof value === 'object' ? arrayLiteral(value) : String(value);
  // Most fields (ids, canonical JSON) hold none of the four characters COPY escapes: test, do not rewrite.
  return SPECIAL.test(text) ? text.replace(SPECIALS, (c) => ESCAPED[c] as string) : text;
}

/** The rows in COPY's text format, `ROWS_PER_CHUNK` rows per string. */
export function copyText(rows: readonly (readonly CopyValue[])[]): string[] {
  const chunks: string[] = [];
  for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) {
    let chunk = '';
    for (const row of rows.slice(i, i + ROWS_PER_CHUNK)) chunk += `${row.map(field).join('\t')}\n`;
    chunks.push(chunk);
  }
  return chunks;
}

/**
 * Writes `rows` with one `COPY … FROM STDIN` (`statement`) on the connection of `trx`: the rows
 * become visible with the transaction, or not at all. A constraint the rows break (a unique key)
 * fails the whole statement, as a multi-row INSERT would: COPY has no ON CONFLICT, so it is for rows
 * no other writer can hold. Cheaper than an INSERT for the database (no bind parameters, no
 * statement per row batch) and for this thread (no SQL built).
 */
export async function copyRows(trx: Knex.Transaction, statement: string, rows: readonly (readonly CopyValue[])[]): Promise<void> {
  if (!rows.length) return;
  if (trx.isCompleted()) throw new Error(`${statement}: the transaction is already over`);
  // A transaction's client hands out the transaction's own connection.
  const connection = (await trx.client.acquireConnection()) as Client;
  const copy = connection.query(copyFrom(statement));
  // Everything is written before the server answers (the stream holds it until COPY starts), so no
  // write follows an error; the server's verdict arrives through `finished`.
  for (const chunk of copyText(rows)) copy.write(chunk);
  copy.end();
  await finished(copy);
}
