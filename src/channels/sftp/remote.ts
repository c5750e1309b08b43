import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path/posix';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { SFTPWrapper } from 'ssh2';
import type { GatewayConfig } from '../../config/load.js';
import { GatewayError, isGatewayError } from '../../errors.js';
import { recordEvents } from '../../observability/events.js';
import { formatOfFile } from '../../pipeline/interpret.js';
import type { Receiver } from '../../pipeline/receive.js';
import { fingerprintOf, parsePublicKey, sameKey } from '../../security/ssh-keys.js';
import type { PartnerProfile, RemoteSftp } from '../../types.js';
import { isTemporaryName, sizeLimit, overLimit, type SizeLimit } from './files.js';

const { Client } = ssh2;

/** A connected SFTP session on a partner's server, with promise-returning calls. */
export interface Session {
  readdir(dir: string): Promise<{ filename: string; attrs: { size: number; mtime: number; mode: number } }[]>;
  /** The file's bytes; GW_REQUEST_TOO_LARGE as soon as more than `maxBytes` arrive (it may grow after listing). */
  readFile(file: string, limit: SizeLimit): Promise<Buffer>;
  writeFile(file: string, data: Buffer): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  end(): void;
}

/** `*` and `?` wildcards over one file name. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

function call<T>(fn: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));
}

/**
 * Opens an SFTP session on the partner's server. The server must present one of the pinned host
 * keys (`sftp.remote.hostKey`); any other key ends the connection with GW_SFTP_HOST_KEY before
 * anything is sent, credentials included.
 */
export async function connectRemote(partner: Readonly<PartnerProfile>, remote: RemoteSftp): Promise<Session> {
  const pinned = remote.hostKey.map(parsePublicKey).filter((k): k is Exclude<typeof k, Error> => !(k instanceof Error));
  const privateKey = await readFile(remote.privateKey);
  const conn = new Client();
  let presented: string | undefined;
  const where = `sftp://${remote.username}@${remote.host}:${remote.port}`;
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    conn.on('error', (err) => {
      if (presented)
        reject(
          new GatewayError(
            'GW_SFTP_HOST_KEY',
            `${where} presented host key ${presented}, which is not pinned for ${partner.id} (sftp.remote.hostKey); the connection was refused.`,
          ),
        );
      else reject(new GatewayError('GW_SFTP_REMOTE', `${where}: ${err.message}`, { cause: err }));
    });
    conn.on('ready', () =>
      conn.sftp((err, s) => (err ? reject(new GatewayError('GW_SFTP_REMOTE', `${where}: no SFTP subsystem (${err.message})`)) : resolve(s))),
    );
    conn.connect({
      host: remote.host,
      port: remote.port,
      username: remote.username,
      privateKey,
      readyTimeout: 15_000,
      hostVerifier: (key: Buffer) => {
        const ok = pinned.some((p) => sameKey(p.blob, key));
        if (!ok) presented = fingerprintOf(key);
        return ok;
      },
    });
  });
  return {
    readdir: (dir) => call((cb) => sftp.readdir(dir, cb)),
    readFile: (file, limit) => readBounded(sftp, file, limit),
    writeFile: (file, data) => call<void>((cb) => sftp.writeFile(file, data, (err) => cb(err))),
    // POSIX rename replaces an existing target (a re-sent document); plain SFTP rename does not.
    rename: (from, to) =>
      call<void>((cb) => {
        try {
          sftp.ext_openssh_rename(from, to, (err) => cb(err));
        } catch {
          sftp.rename(from, to, (err) => cb(err));
        }
      }),
    unlink: (file) => call<void>((cb) => sftp.unlink(file, (err) => cb(err))),
    end: () => conn.end(),
  };
}

/** Reads at most one byte past the limit, so that a file larger than announced never fills memory. */
function readBounded(sftp: SFTPWrapper, file: string, limit: SizeLimit): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const stream = sftp.createReadStream(file, { start: 0, end: limit.bytes });
    stream.on('data', (d: Buffer) => {
      parts.push(d);
      size += d.length;
    });
    stream.on('error', reject);
    stream.on('end', () => (size > limit.bytes ? reject(new GatewayError('GW_REQUEST_TOO_LARGE', overLimit(file, limit))) : resolve(Buffer.concat(parts))));
  });
}

/**
 * Pickup from partners' own SFTP servers. Every gateway replica runs it; a pickup is claimed per
 * partner in the database, so one replica polls a partner at a time.
 */
export class RemoteSftpDoor {
  constructor(
    private readonly knex: Knex,
    private readonly log: Logger,
    private readonly receiver: Receiver,
    private readonly config: () => GatewayConfig,
    /** GATEWAY_MAX_BODY_BYTES: no file is picked up larger, whatever the partner's own limit. */
    private readonly maxBodyBytes: number,
  ) {}

  private remotes(): [Readonly<PartnerProfile>, RemoteSftp][] {
    return [...this.config().partners.values()].filter((p) => p.sftp?.remote && p.state !== 'suspended').map((p) => [p, p.sftp!.remote!]);
  }

  /** One pass: pick up from every partner whose poll is due (pushes to partners' servers are outbox deliveries: push.ts). */
  async run(): Promise<number> {
    let n = 0;
    for (const [{ id }, remote] of this.remotes()) {
      if (!remote.pickup || !(await this.claim(id, remote.pickup.everySeconds))) continue;
      // The profile as it is now, after the claim: a reload during the pass before does not leak in.
      const partner = this.config().partners.get(id);
      const current = partner?.sftp?.remote;
      if (partner && current?.pickup) n += await this.pickup(partner, current, current.pickup);
    }
    return n;
  }

  /** Claims the partner's poll if it is due (the claim also schedules the next one). */
  private async claim(partnerId: string, everySeconds: number): Promise<boolean> {
    const { rows } = await this.knex.raw<{ rows: unknown[] }>(
      `INSERT INTO sftp_remote_polls (partner_id, next_poll_at) VALUES (?, now() + make_interval(secs => ?))
       ON CONFLICT (partner_id) DO UPDATE SET next_poll_at = EXCLUDED.next_poll_at WHERE sftp_remote_polls.next_poll_at <= now()
       RETURNING partner_id`,
      [partnerId, everySeconds],
    );
    return rows.length === 1;
  }

  /** Picks up the matching files of one partner (its poll already claimed). */
  async pickup(partner: Readonly<PartnerProfile>, remote: RemoteSftp, pickup: NonNullable<RemoteSftp['pickup']>): Promise<number> {
    const pattern = globToRegExp(pickup.glob);
    const limit = sizeLimit(partner, this.maxBodyBytes);
    let picked = 0;
    let session: Session | undefined;
    try {
      session = await connectRemote(partner, remote);
      const entries = (await session.readdir(pickup.dir))
        .filter((e) => (e.attrs.mode & 0o170000) === 0o100000 && pattern.test(e.filename) && !isTemporaryName(e.filename))
        .sort((a, b) => a.attrs.mtime - b.attrs.mtime || a.filename.localeCompare(b.filename));
      for (const e of entries) {
        const file = path.join(pickup.dir, e.filename);
        const bytes =
          e.attrs.size > limit.bytes
            ? undefined
            : await session
                .readFile(file, limit)
                .catch((err: unknown) => (isGatewayError(err) && err.code === 'GW_REQUEST_TOO_LARGE' ? undefined : Promise.reject(err)));
        if (!bytes) {
          await this.partnerEvent(
            partner.id,
            'sftp.pickup-skipped',
            'GW_REQUEST_TOO_LARGE',
            `${overLimit(file, limit)}; it was left on the server (listed with ${e.attrs.size} bytes)`,
          );
          this.log.warn(
            { partner: partner.id, file, bytes: e.attrs.size, limit: limit.bytes, setting: limit.setting },
            'sftp: file on the partner server over the size limit; left there',
          );
          continue;
        }
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        // The same file seen again (a pickup cut off between commit and delete) is the same message.
        const receipt = await this.receiver.receive({
          partnerId: partner.id,
          channel: 'sftp',
          ...formatOfFile(bytes.subarray(0, 512)),
          bytes,
          fileName: e.filename,
          idempotencyKey: `sftp-pickup:${remote.host}:${file}:${e.attrs.mtime}:${sha256}`,
        });
        if (pickup.after === 'move') await session.rename(file, path.join(pickup.moveTo!, e.filename));
        else await session.unlink(file);
        picked++;
        this.log.info(
          { partner: partner.id, file, bytes: bytes.length, messageId: receipt.messageId, duplicate: receipt.duplicate },
          'sftp: picked up from the partner server',
        );
      }
      await this.knex('sftp_remote_polls').where('partner_id', partner.id).update({ last_poll_at: this.knex.fn.now(), last_picked: picked, last_error: null });
    } catch (err) {
      const e = asGatewayError(err);
      this.log.error({ partner: partner.id, code: e.code, err: e.message }, 'sftp: pickup from the partner server failed');
      await this.knex('sftp_remote_polls')
        .where('partner_id', partner.id)
        .update({ last_poll_at: this.knex.fn.now(), last_picked: picked, last_error: `${e.code}: ${e.message}` })
        .catch(() => undefined);
      await this.partnerEvent(partner.id, e.code === 'GW_SFTP_HOST_KEY' ? 'sftp.host-key-mismatch' : 'sftp.pickup-failed', e.code, e.message).catch(
        () => undefined,
      );
    } finally {
      session?.end();
    }
    return picked;
  }

  private async partnerEvent(
    partnerId: string,
    type: 'sftp.host-key-mismatch' | 'sftp.pickup-failed' | 'sftp.pickup-skipped',
    code: string,
    detail: string,
  ): Promise<void> {
    await recordEvents(this.knex, [{ partner_id: partnerId, type, code, detail }]);
  }
}

function asGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  return new GatewayError('GW_SFTP_REMOTE', (err as Error).message, { cause: err });
}
