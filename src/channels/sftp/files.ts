import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { isGatewayError } from '../../errors.js';
import { formatOfFile } from '../../pipeline/interpret.js';
import { collectMailboxItem, listMailbox } from '../../pipeline/outbound.js';
import { allowedScopes, mailboxScope } from '../../security/scopes.js';
import { discardStagedChunks, readRawSlice, readStagedSlice, stageChunk, stagedBytes } from '../../pipeline/raw-store.js';
import type { Receipt, Receiver } from '../../pipeline/receive.js';
import type { PartnerProfile } from '../../types.js';
import { ChunkBuffer } from './chunk-buffer.js';
import type { Folder } from './paths.js';

/**
 * Uploads are staged in the database in pieces of this size (the last one smaller), which become
 * the message's bytes on close; smaller files go in one commit.
 */
export const CHUNK_BYTES = 4 << 20;
/** Names under which clients write a file before renaming it to its final name: held, not processed. */
export const TEMPORARY_SUFFIXES = ['.part', '.filepart', '.tmp'];
/** How many entries a folder listing shows (newest for the archive, oldest for the outbound mailbox). */
const LISTING_LIMIT = 1000;
/** What the client hears when the store fails; the cause goes to the log only. */
const STORE_FAILED = 'GW_STORE_UNAVAILABLE: the file could not be stored and nothing was kept; upload it again later';

export const isTemporaryName = (name: string): boolean => TEMPORARY_SUFFIXES.some((s) => name.endsWith(s) && name.length > s.length);

/** The largest file a partner may send, and which setting sets it (the smaller one binds). */
export interface SizeLimit {
  bytes: number;
  setting: string;
}

/** A partner's `limits.maxBytes`, capped by the gateway's `GATEWAY_MAX_BODY_BYTES`, on every SFTP door. */
export function sizeLimit(partner: Readonly<PartnerProfile>, maxBodyBytes: number): SizeLimit {
  return maxBodyBytes < partner.limits.maxBytes
    ? { bytes: maxBodyBytes, setting: 'GATEWAY_MAX_BODY_BYTES' }
    : { bytes: partner.limits.maxBytes, setting: `limits.maxBytes of partner ${partner.id}` };
}

/** Why a file is refused for its size (GW_REQUEST_TOO_LARGE): the limit that binds and its value. */
export function overLimit(file: string, limit: SizeLimit): string {
  return `${file} exceeds the limit of ${limit.bytes} bytes (${limit.setting})`;
}

/** A refusal in file system terms; the SFTP server maps `kind` to a status code. */
export class FsError extends Error {
  constructor(
    readonly kind: 'denied' | 'missing' | 'failure' | 'unsupported',
    message: string,
    /** `cause` is for the log: the client sees `message` only. */
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface Entry {
  name: string;
  size: number;
  mtime: Date;
  /** The stored message behind an outbound or archive file. */
  messageId?: string;
  /** The held upload behind an inbound `.part` file. */
  uploadId?: string;
}

/**
 * One partner's virtual tree, kept in the database so that any gateway replica serves any partner:
 * - `/inbound`: write-only; shows files held under a temporary name until they are renamed;
 * - `/outbound`: the partner's mailbox (acknowledgments, purchase orders); read, then delete to
 *   mark collected;
 * - `/archive`: read-only; the files the partner uploaded over SFTP, as stored.
 */
export class PartnerFiles {
  constructor(
    private readonly knex: Knex,
    private readonly receiver: Receiver,
    readonly partner: Readonly<PartnerProfile>,
    /** The gateway's cap on any one file (GATEWAY_MAX_BODY_BYTES), over the partner's own limit. */
    private readonly maxBodyBytes: number,
    /** What the login may do: uploads need a write scope, /outbound shows what the read scopes allow. */
    readonly scopes: ReadonlySet<string> = allowedScopes(partner),
  ) {}

  /** Uploads are refused at open when the login may write no document type at all. */
  mayUpload(): boolean {
    return [...this.scopes].some((s) => s.endsWith(':write'));
  }

  async list(folder: Folder): Promise<Entry[]> {
    const partnerId = this.partner.id;
    if (folder === 'inbound') {
      const rows = await this.knex('sftp_uploads')
        .select('id', 'name', 'size_bytes', 'updated_at')
        .where({ partner_id: partnerId, state: 'held' })
        .orderBy('name')
        .limit(LISTING_LIMIT);
      return rows.map((r) => ({ name: r.name, size: Number(r.size_bytes), mtime: r.updated_at, uploadId: r.id }));
    }
    if (folder === 'outbound') {
      return (await listMailbox(this.knex, partnerId, LISTING_LIMIT))
        .filter((m) => this.scopes.has(mailboxScope(m.type)))
        .map((m) => ({ name: m.fileName, size: m.sizeBytes, mtime: m.createdAt, messageId: m.id }));
    }
    const rows = await this.knex('messages')
      .select('id', 'file_name', 'size_bytes', 'received_at')
      .where({ partner_id: partnerId, direction: 'inbound', channel: 'sftp' })
      .whereNotNull('file_name')
      .orderBy('received_at', 'desc')
      .limit(LISTING_LIMIT);
    return rows.map((r) => ({ name: archiveName(r.id, r.file_name), size: r.size_bytes, mtime: r.received_at, messageId: r.id }));
  }

  async stat(folder: Folder, name: string): Promise<Entry | undefined> {
    const partnerId = this.partner.id;
    if (folder === 'inbound') {
      const r = await this.knex('sftp_uploads').first('id', 'name', 'size_bytes', 'updated_at').where({ partner_id: partnerId, state: 'held', name });
      return r && { name: r.name, size: Number(r.size_bytes), mtime: r.updated_at, uploadId: r.id };
    }
    if (folder === 'outbound') {
      const r = await this.knex('messages')
        .first('id', 'file_name', 'size_bytes', 'received_at', 'doc_type')
        .where({ partner_id: partnerId, direction: 'outbound', file_name: name })
        .whereNull('collected_at')
        .orderBy('received_at');
      if (r && !this.scopes.has(mailboxScope(r.doc_type))) return undefined;
      return r && { name: r.file_name, size: r.size_bytes, mtime: r.received_at, messageId: r.id };
    }
    const m = /^([0-9a-f]{8})_(.+)$/.exec(name);
    if (!m) return undefined;
    const r = await this.knex('messages')
      .first('id', 'file_name', 'size_bytes', 'received_at')
      .where({ partner_id: partnerId, direction: 'inbound', channel: 'sftp', file_name: m[2] })
      .andWhereRaw('id::text LIKE ?', [`${m[1]}%`])
      .orderBy('received_at', 'desc');
    return r && { name, size: r.size_bytes, mtime: r.received_at, messageId: r.id };
  }

  /** Bytes of a stored message, read in a slice so that large files never load whole. */
  read(messageId: string, offset: number, length: number): Promise<Buffer> {
    return readRawSlice(this.knex, messageId, offset, length, this.partner.id);
  }

  async remove(folder: Folder, name: string): Promise<void> {
    if (folder === 'archive') throw new FsError('denied', 'the archive is read-only');
    const entry = await this.stat(folder, name);
    if (!entry) throw new FsError('missing', `no file ${name} in /${folder}`);
    if (entry.uploadId) {
      const uploadId = entry.uploadId;
      await this.knex.transaction((trx) => discardUploads(trx, trx('sftp_uploads').where({ id: uploadId, partner_id: this.partner.id })));
    } else if (entry.messageId) await collectMailboxItem(this.knex, this.partner.id, entry.messageId, 'SFTP (deleted from /outbound)');
  }

  /**
   * Renames a file held under a temporary name. To a final name, the file is committed as a message
   * (and so leaves `/inbound`); to another temporary name, it stays held.
   */
  async rename(from: { folder: Folder; name: string }, to: { folder: Folder; name: string }): Promise<Receipt | undefined> {
    if (from.folder !== 'inbound' || to.folder !== 'inbound') throw new FsError('denied', 'only files in /inbound can be renamed, within /inbound');
    const entry = await this.stat('inbound', from.name);
    const uploadId = entry?.uploadId;
    if (!uploadId) throw new FsError('missing', `no file ${from.name} in /inbound`);
    if (isTemporaryName(to.name)) {
      await this.knex.transaction(async (trx) => {
        if (await trx('sftp_uploads').first('id').where({ partner_id: this.partner.id, state: 'held', name: to.name }))
          throw new FsError('failure', `/inbound/${to.name} exists`);
        await trx('sftp_uploads').where('id', uploadId).update({ name: to.name, updated_at: trx.fn.now() });
      });
      return undefined;
    }
    const row = await this.knex('sftp_uploads').first('size_bytes', 'sha256').where('id', uploadId);
    const head = await readStagedSlice(this.knex, uploadId, 0, 512);
    return this.receiver.receiveStaged({
      partnerId: this.partner.id,
      channel: 'sftp',
      ...formatOfFile(head),
      fileName: to.name,
      uploadId: uploadId,
      sizeBytes: Number(row.size_bytes),
      sha256: row.sha256,
      scopes: [...this.scopes],
      consumed: (trx) => discardUpload(trx, uploadId),
    });
  }

  upload(name: string): Upload {
    return new Upload(this.knex, this.receiver, this.partner, name, this.scopes, sizeLimit(this.partner, this.maxBodyBytes));
  }

  /** Staged uploads that no client has written to for `olderThanMs` (a replica stopped mid-upload). */
  static async sweep(knex: Knex, olderThanMs: number): Promise<number> {
    return knex.transaction((trx) =>
      discardUploads(
        trx,
        trx('sftp_uploads')
          .where('state', 'writing')
          .andWhere('updated_at', '<', new Date(Date.now() - olderThanMs)),
      ),
    );
  }
}

export function archiveName(messageId: string, fileName: string): string {
  return `${messageId.slice(0, 8)}_${fileName}`;
}

/**
 * One file being written to `/inbound`. Bytes arrive in order (OpenSSH writes sequentially);
 * whatever exceeds one chunk is staged in the database as it comes, so memory stays bounded by
 * the chunk size, whatever the file's size. Nothing is processed before the client closes the
 * file, and a file cut off by a disconnect is discarded (`abort`).
 *
 * Writes are answered before their chunk lands (the client pipelines them), so a close may come
 * while a chunk is still staging. Once any chunk has been handed to the store, the file is
 * committed from the store only, after every chunk has landed; a close never commits what is
 * left in memory alone.
 */
export class Upload {
  readonly temporary: boolean;
  size = 0;
  /** Bytes written since the last chunk was handed to the store. */
  private readonly pending = new ChunkBuffer(CHUNK_BYTES);
  private readonly hash = createHash('sha256');
  private head = Buffer.alloc(0);
  /** Chosen when the first chunk is handed to the store, before its row is written. */
  private uploadId: string | undefined;
  /** Chunks handed to the store: zero means the whole file is still in memory. */
  private seq = 0;
  private failed: FsError | undefined;
  private closed = false;
  /** The staging work, chunk after chunk; once a chunk fails, every later one fails too. */
  private chain: Promise<void> = Promise.resolve();
  /** Chunks handed to the database and not yet written. */
  private staging = 0;

  constructor(
    private readonly knex: Knex,
    private readonly receiver: Receiver,
    private readonly partner: Readonly<PartnerProfile>,
    readonly name: string,
    private readonly scopes: ReadonlySet<string>,
    private readonly limit: SizeLimit,
  ) {
    this.temporary = isTemporaryName(name);
  }

  /** Appends bytes at `offset`; resolves when they are buffered or staged. */
  write(offset: number, data: Buffer): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new FsError('failure', 'the file is closed'));
    if (offset !== this.size)
      return Promise.reject(
        this.fail(`writes must be sequential: expected offset ${this.size}, got ${offset} (resuming an upload is not supported; upload the whole file again)`),
      );
    if (this.size + data.length > this.limit.bytes)
      return Promise.reject(
        this.fail(
          `GW_REQUEST_TOO_LARGE: ${overLimit(`/inbound/${this.name}`, this.limit)}; nothing was stored. Split the file, or ask for the limit to be raised.`,
        ),
      );
    this.size += data.length;
    this.hash.update(data);
    if (this.head.length < 512) this.head = Buffer.concat([this.head, data.subarray(0, 512 - this.head.length)]);
    this.pending.append(data, (chunk) => void this.stage(chunk).catch(() => undefined));
    // Backpressure: while more than one chunk waits for the database, writes are answered only as
    // chunks land, so the client (which keeps a bounded number of writes in flight) slows down.
    return this.staging > 1 ? this.chain : Promise.resolve();
  }

  /** Marks the upload failed (the first reason stays) and returns the error every later call gets. */
  private fail(message: string, cause?: unknown): FsError {
    this.failed ??= new FsError('failure', message, cause === undefined ? undefined : { cause });
    return this.failed;
  }

  /** Hands `data` to the store as the next chunk (serially: chunks land in order). */
  private stage(data: Buffer): Promise<void> {
    const seq = this.seq++;
    const size = this.size;
    const id = (this.uploadId ??= randomUUID());
    this.staging++;
    this.chain = this.chain
      .then(() => this.writeChunk(id, seq, data, size))
      .finally(() => {
        this.staging--;
        this.pending.release(data);
      });
    return this.chain;
  }

  /**
   * One chunk and the upload's size, in one transaction. Its commit does not wait for the disk
   * (`synchronous_commit` off): nothing is acknowledged on it, and the commit of the close, which
   * does wait, makes every earlier commit durable with it (the write-ahead log is flushed in order).
   */
  private async writeChunk(id: string, seq: number, data: Buffer, size: number): Promise<void> {
    if (this.failed) throw this.failed;
    try {
      await this.knex.transaction(async (trx) => {
        await trx.raw('SET LOCAL synchronous_commit = off');
        if (seq === 0) await trx('sftp_uploads').insert({ id, partner_id: this.partner.id, name: this.name, state: 'writing', size_bytes: size });
        else if ((await trx('sftp_uploads').where({ id, state: 'writing' }).update({ size_bytes: size, updated_at: trx.fn.now() })) !== 1)
          throw new Error(`staged upload ${id} is gone (swept?)`);
        await stageChunk(trx, id, size - data.length, data);
      });
    } catch (err) {
      throw this.fail(STORE_FAILED, err);
    }
  }

  /** The whole file, when no chunk was ever handed to the store. */
  private inMemory(): Buffer {
    const bytes = this.pending.take();
    if (this.seq !== 0 || bytes.length !== this.size) throw new Error(`upload ${this.name}: ${bytes.length} bytes in memory, ${this.size} written`);
    return bytes;
  }

  /**
   * The client closed the file: commit it as a message (or hold it, under a temporary name).
   * Resolves only once every byte written is committed; rejects, and keeps nothing, when not.
   */
  async close(): Promise<Receipt | 'held'> {
    this.closed = true;
    try {
      if (this.failed) throw this.failed;
      if (this.size === 0) throw new FsError('failure', 'GW_REQUEST_INVALID: the file is empty; nothing was stored');
      const sha256 = this.hash.digest('hex');
      const common = { partnerId: this.partner.id, channel: 'sftp' as const, ...formatOfFile(this.head), fileName: this.name, scopes: [...this.scopes] };
      // Decided on what was handed to the store, not on what has landed there yet.
      if (this.seq === 0 && !this.temporary) return await this.receiver.receive({ ...common, bytes: this.inMemory() });
      // The tail (or a small held file) goes to the store too; then every chunk must have landed.
      await (this.pending.length || this.seq === 0 ? this.stage(this.pending.take()) : this.chain);
      const uploadId = this.uploadId!;
      if (!this.temporary)
        return await this.receiver.receiveStaged({ ...common, uploadId, sizeBytes: this.size, sha256, consumed: (trx) => discardUpload(trx, uploadId) });
      await this.knex.transaction(async (trx) => {
        // Held only if the store holds every byte written, as a commit would check.
        const staged = await stagedBytes(trx, uploadId);
        if (staged !== this.size) throw new Error(`staged upload ${uploadId} holds ${staged} of the ${this.size} bytes written`);
        await discardUploads(trx, trx('sftp_uploads').where({ partner_id: this.partner.id, state: 'held', name: this.name }));
        const held = await trx('sftp_uploads')
          .where({ id: uploadId, state: 'writing' })
          .update({ state: 'held', size_bytes: this.size, sha256, updated_at: trx.fn.now() });
        if (held !== 1) throw new Error(`staged upload ${uploadId} is gone (swept?)`);
      });
      return 'held';
    } catch (err) {
      await this.abort();
      if (err instanceof FsError) throw err;
      if (isGatewayError(err)) throw new FsError('failure', `${err.code}: ${err.message}`, { cause: err });
      throw new FsError('failure', STORE_FAILED, { cause: err });
    }
  }

  /** Discards what was written (disconnect before close, or a failed close). Best effort. */
  async abort(): Promise<void> {
    this.fail('the upload was abandoned');
    this.pending.take();
    await this.chain.catch(() => undefined);
    const id = this.uploadId;
    if (id) await this.knex.transaction((trx) => discardUploads(trx, trx('sftp_uploads').where({ id, state: 'writing' }))).catch(() => undefined);
  }
}

/** A staged upload whose bytes became a message: its row goes, its chunks are the message's now. */
async function discardUpload(trx: Knex.Transaction, uploadId: string): Promise<void> {
  await trx('sftp_uploads').where('id', uploadId).del();
}

/** Staged uploads that will never be committed (`which` selects them): their rows and their chunks. Returns how many. */
async function discardUploads(trx: Knex.Transaction, which: Knex.QueryBuilder): Promise<number> {
  const gone: { id: string }[] = await which.del().returning('id');
  await discardStagedChunks(
    trx,
    gone.map((r) => r.id),
  );
  return gone.length;
}
