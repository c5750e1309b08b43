import { finished } from 'node:stream/promises';
import type { Knex } from 'knex';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * A field as COPY's text format takes it: null (or undefined) is NULL, a list of strings is a
 * `text[]`, JSON columns come already serialized.
 */
export type CopyValue = string | number | boolean | null | undefined | readonly string[];

/**
 * From this many rows on, a batch is written with one COPY: cheaper for the database and for this
 * thread than INSERTs. Below it, the one round trip of an INSERT is quicker, and a few large rows
 * (a whole inventory in one document) are sent as they are, without the text format's copies.
 */
export const COPY_FROM_ROWS = 64;

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

/** The rows in COPY's text format, `ROWS_PER_CHUNK` rows per string, encoded as they are asked for. */
export function* copyText(rows: readonly (readonly CopyValue[])[]): Generator<string> {
  for (let i = 0; i < rows.length; i += ROWS_PER_CHUNK) {
    let chunk = '';
    for (const row of rows.slice(i, i + ROWS_PER_CHUNK)) chunk += `${row.map(field).join('\t')}\n`;
    yield chunk;
  }
}

/**
 * Writes `rows` with one `COPY … FROM STDIN` (`statement`) on the connection of `trx`: the rows
 * become visible with the transaction, or not at all. A constraint the rows break (a unique key)
 * fails the whole statement, as a multi-row INSERT would: COPY has no ON CONFLICT, so it is for rows
 * no other writer can hold. Cheaper than an INSERT for the database (no bind parameters, no
 * statement per row batch) and for this thread (no SQL built). The rows are encoded a chunk at a
 * time, with the event loop let go between chunks, so a thousand documents never hold the doors.
 */
export async function copyRows(trx: Knex.Transaction, statement: string, rows: readonly (readonly CopyValue[])[]): Promise<void> {
  if (!rows.length) return;
  if (trx.isCompleted()) throw new Error(`${statement}: the transaction is already over`);
  // A transaction's client hands out the transaction's own connection.
  const connection = (await trx.client.acquireConnection()) as Client;
  const copy = connection.query(copyFrom(statement));
  const done = finished(copy);
  done.catch(() => undefined); // awaited below; a rejection while chunks are still written is not unhandled
  for (const chunk of copyText(rows)) {
    // After an error from the server nothing more is written; `done` reports it.
    if (copy.destroyed || copy.errored) break;
    copy.write(chunk);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  if (!copy.destroyed) copy.end();
  await done;
}

/** What a binary COPY stream starts with: its signature, no flags, no header extension. */
const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** The end of a binary COPY stream: a tuple of -1 fields. */
const BINARY_TRAILER = Buffer.from([0xff, 0xff]);

/** One field of a binary COPY tuple. */
export type CopyField = { uuid: string } | { int8: number } | { bytes: Buffer };

/** A field's length word, and for fixed-size types its value. */
function fieldHead(field: CopyField): Buffer {
  if ('uuid' in field) {
    const b = Buffer.alloc(20);
    b.writeInt32BE(16);
    Buffer.from(field.uuid.replace(/-/g, ''), 'hex').copy(b, 4);
    return b;
  }
  if ('int8' in field) {
    const b = Buffer.alloc(12);
    b.writeInt32BE(8);
    b.writeBigInt64BE(BigInt(field.int8), 4);
    return b;
  }
  const b = Buffer.alloc(4);
  b.writeInt32BE(field.bytes.length);
  return b;
}

/**
 * Inserts one row into `table` (`columns` in order) by `COPY … FROM STDIN (FORMAT binary)` in the
 * transaction `trx`. Its bytea fields go to the connection's socket as they are: node-postgres
 * copies each query parameter into new buffers twice, which for 4 MiB chunks of an upload brought on
 * a garbage collection every few chunks. The caller keeps the buffers untouched until the promise
 * settles (the server has read them by then).
 * @see https://www.postgresql.org/docs/current/sql-copy.html ("Binary Format")
 */
export async function copyRow(trx: Knex.Transaction, table: string, columns: readonly string[], fields: readonly CopyField[]): Promise<void> {
  const connection = (await trx.client.acquireConnection()) as Client;
  const copy = connection.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`));
  const count = Buffer.alloc(2);
  count.writeInt16BE(fields.length);
  copy.write(Buffer.concat([BINARY_HEADER, count]));
  for (const field of fields) {
    copy.write(fieldHead(field));
    if ('bytes' in field) copy.write(field.bytes);
  }
  copy.end(BINARY_TRAILER);
  await finished(copy);
}
