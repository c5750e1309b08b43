import type { Knex } from 'knex';
import type { Client, Connection, Submittable } from 'pg';

/** What a binary COPY stream starts with: its signature, no flags, no header extension. */
const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** The end of a binary COPY stream (a tuple of -1 fields), then CopyDone. */
const BINARY_TRAILER_AND_DONE = Buffer.from([0xff, 0xff, 0x63, 0, 0, 0, 4]);

/** One field of a binary COPY tuple. */
export type CopyField = { uuid: string } | { int8: number } | { bytes: Buffer };

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
 * One row by `COPY … FROM STDIN (FORMAT binary)` (a node-postgres Submittable): its bytea fields are
 * written to the connection's socket as they are. node-postgres copies each query parameter into
 * new buffers twice, which for 4 MiB chunks of an upload brought on a garbage collection every few
 * chunks; here nothing of the bytes is copied or allocated in this process. The caller keeps the
 * buffers untouched until the promise settles (the server has read them by then).
 */
class CopyRow implements Submittable {
  private settled = false;

  constructor(
    private readonly text: string,
    private readonly fields: readonly CopyField[],
    private readonly done: (err?: Error) => void,
  ) {}

  submit(connection: Connection): void {
    (connection as unknown as { query(text: string): void }).query(this.text);
  }

  handleCopyInResponse(connection: Connection): void {
    const parts: Buffer[] = [BINARY_HEADER, Buffer.from([0, this.fields.length])];
    for (const field of this.fields) parts.push(fieldHead(field), ...('bytes' in field ? [field.bytes] : []));
    const length = parts.reduce((n, p) => n + p.length, 0) + 2;
    const message = Buffer.alloc(5);
    message[0] = 0x64; // CopyData
    message.writeInt32BE(4 + length, 1);
    const socket = connection.stream;
    socket.cork();
    for (const part of [message, ...parts, BINARY_TRAILER_AND_DONE]) socket.write(part);
    socket.uncork();
  }

  handleCommandComplete(): void {}
  handleReadyForQuery(): void {
    this.settle();
  }
  /** An error from the server (then no ReadyForQuery reaches this row) or the connection's end. */
  handleError(err: Error): void {
    this.settle(err);
  }
  // COPY FROM sends none of these; node-postgres may still call them on a broken exchange.
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private settle(err?: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.done(err);
  }
}

/** Inserts one row into `table` (`columns` in order) by binary COPY, in the transaction `trx`. */
export async function copyRow(trx: Knex.Transaction, table: string, columns: readonly string[], fields: readonly CopyField[]): Promise<void> {
  const connection = (await trx.client.acquireConnection()) as Client;
  await new Promise<void>((resolve, reject) => {
    connection.query(new CopyRow(`COPY ${table} (${columns.join(', ')}) FROM STDIN (FORMAT binary)`, fields, (err) => (err ? reject(err) : resolve())));
  });
}
