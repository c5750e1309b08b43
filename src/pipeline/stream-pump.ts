import type { Knex } from 'knex';
import type { ClaimedMessage } from './document-records.js';
import type { DocumentWriter } from './document-writer.js';
import type { InterpretStream } from './interpreter.js';
import { readRawSlice } from './raw-store.js';

/** Messages larger than this are read from the database in slices of this size. */
export const RAW_SLICE_BYTES = 4 << 20;

/** The stored raw bytes of a message: the row's own when it came with the claim, else slice by slice. */
export async function* readRaw(trx: Knex.Transaction, row: ClaimedMessage): AsyncGenerator<Buffer> {
  if (row.raw) {
    yield row.raw;
    return;
  }
  for (let offset = 0; offset < row.size_bytes; offset += RAW_SLICE_BYTES) {
    const part = await readRawSlice(trx, row.id, offset, RAW_SLICE_BYTES);
    if (part.length) yield part;
  }
}

/**
 * Bytes handed to the interpreter at a time. The worker answers with the items of one slice and
 * waits for the next: the items in flight (memory) are bounded by what one slice holds.
 */
const PUSH_BYTES = 64 << 10;

/**
 * Reads a message's stored bytes in slices through an interpreter stream (X12 or EDIFACT) and hands
 * each item to `handle`, in order. The slice being interpreted while the items of the one before
 * are written: the worker reads the next slice while this thread and the database store the last
 * (at most two slices' items in memory). The stream is closed and the writer settled whatever happens.
 */
export async function pumpStream<Item>(
  trx: Knex.Transaction,
  row: ClaimedMessage,
  stream: InterpretStream<Item>,
  handle: (item: Item) => Promise<void>,
  writer: DocumentWriter,
): Promise<void> {
  let ahead: Promise<Item[]> | undefined;
  try {
    for await (const part of readRaw(trx, row)) {
      for (let at = 0; at < part.length; at += PUSH_BYTES) {
        const items = ahead ? await ahead : [];
        ahead = stream.push(part.subarray(at, at + PUSH_BYTES));
        // Awaited below, or in `finally` when writing fails first.
        ahead.catch(() => undefined);
        for (const item of items) await handle(item);
        // Let other work (HTTP requests) run between slices, also when this thread interprets.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    const last = ahead ? await ahead : [];
    ahead = undefined;
    for (const item of last) await handle(item);
    for (const item of await stream.end()) await handle(item);
  } finally {
    // The worker is handed back only once it has answered: its next request must not get this answer.
    await ahead?.catch(() => undefined);
    stream.close();
    await writer.settled();
  }
}
