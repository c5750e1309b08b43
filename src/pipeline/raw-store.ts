import type { Knex } from 'knex';
import { copyRow } from '../store/copy.js';

/*
 * Where a message's raw bytes are kept. Most messages hold them in `messages.raw`. A file that the
 * SFTP door staged as it arrived keeps them in `message_chunks`, under the id the message takes when
 * the file is committed, and its `raw` is NULL: the staged chunks are the message's bytes, so each
 * byte is written once. Every reader of raw bytes goes through `readRawSlice`, which serves both.
 * @see docs/decisions/0019-sftp-bytes-once.md
 */

/**
 * Stores one piece of a file being received: `data` is the file's bytes from `firstByte` on. By
 * binary COPY, so that the bytes go to the socket as they are (copyRow in src/store/copy.ts); `data` must
 * stay untouched until this resolves.
 */
export async function stageChunk(trx: Knex.Transaction, messageId: string, firstByte: number, data: Buffer): Promise<void> {
  await copyRow(trx, 'message_chunks', ['message_id', 'first_byte', 'data'], [{ uuid: messageId }, { int8: firstByte }, { bytes: data }]);
}

/**
 * Removes the chunks of files that were never committed (abandoned, replaced or swept uploads).
 * The chunks of a committed message are never touched, whatever the caller believed.
 */
export async function discardStagedChunks(trx: Knex.Transaction, ids: readonly string[]): Promise<void> {
  if (!ids.length) return;
  await trx.raw(
    `DELETE FROM message_chunks c
      WHERE c.message_id = ANY(?::uuid[]) AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.id = c.message_id)`,
    [[...ids]],
  );
}

/** How many bytes are staged under `id` (what a commit checks against the bytes written). */
export async function stagedBytes(db: Knex, id: string): Promise<number> {
  const { rows } = await db.raw<{ rows: { n: string }[] }>('SELECT coalesce(sum(length(data)), 0) AS n FROM message_chunks WHERE message_id = ?', [id]);
  return Number(rows[0]?.n ?? 0);
}

/**
 * The part of the chunks of `alias.id` that falls in [`offset`, `offset + length`), joined by the
 * database: only the chunks it overlaps are read, and of them only the pages it needs (EXTERNAL).
 */
function chunkSliceSql(alias: string): string {
  return `(SELECT string_agg(
             substring(c.data FROM (greatest(:offset::bigint - c.first_byte, 0) + 1)::int FOR (:end::bigint - greatest(:offset::bigint, c.first_byte))::int),
             ''::bytea ORDER BY c.first_byte)
           FROM message_chunks c
          WHERE c.message_id = ${alias}.id AND c.first_byte < :end::bigint AND c.first_byte + length(c.data) > :offset::bigint)`;
}

/**
 * `length` bytes of a message's raw payload from `offset`, from `messages.raw` or from its chunks;
 * only the slice is read. With `partnerId`, another partner's message reads as empty.
 */
export async function readRawSlice(db: Knex, messageId: string, offset: number, length: number, partnerId?: string): Promise<Buffer> {
  const { rows } = await db.raw<{ rows: { part: Buffer | null }[] }>(
    `SELECT coalesce(substring(m.raw FROM :from FOR :length), ${chunkSliceSql('m')}) AS part
       FROM messages m WHERE m.id = :id${partnerId ? ' AND m.partner_id = :partnerId' : ''}`,
    { from: offset + 1, length, offset, end: offset + length, id: messageId, ...(partnerId ? { partnerId } : {}) },
  );
  return rows[0]?.part ?? Buffer.alloc(0);
}

/** `length` bytes from `offset` of a file staged under `id` and not committed yet (a held `.part`). */
export async function readStagedSlice(db: Knex, id: string, offset: number, length: number): Promise<Buffer> {
  const { rows } = await db.raw<{ rows: { part: Buffer | null }[] }>(`SELECT ${chunkSliceSql('s')} AS part FROM (SELECT :id::uuid AS id) s`, {
    id,
    offset,
    end: offset + length,
  });
  return rows[0]?.part ?? Buffer.alloc(0);
}
