import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import ssh2 from 'ssh2';
import type { AuthContext, Connection, FileEntry, SFTPWrapper } from 'ssh2';
import type { GatewayConfig } from '../../config/load.js';
import type { Receiver } from '../../pipeline/receive.js';
import { channelNotListed } from '../../security/channel-refusals.js';
import { audit } from '../../security/audit.js';
import type { CredentialStore } from '../../security/credentials.js';
import type { MasterKeys } from '../../security/secrets.js';
import { allowedScopes, grantedScopes } from '../../security/scopes.js';
import { parsePublicKey, sameKey, verifyPassword } from '../../security/ssh-keys.js';
import type { PartnerProfile } from '../../types.js';
import { FsError, PartnerFiles, type Entry, type Upload } from './files.js';
import { listenError } from '../port-in-use.js';
import { ensureHostKeys, type HostKey } from './host-keys.js';
import { FOLDERS, PathRefused, pathSegments, resolvePath, type Folder, type Place } from './paths.js';
import { LoginThrottle } from './throttle.js';
import { isSuspended } from '../../types.js';

const { Server, utils } = ssh2;
const { OPEN_MODE, STATUS_CODE } = utils.sftp;

export interface SftpServerOptions {
  knex: Knex;
  log: Logger;
  receiver: Receiver;
  config: () => GatewayConfig;
  /** SSH keys issued or retired at run time, over the profile's. */
  credentials: CredentialStore;
  /** Seals the host keys in their files. */
  master?: MasterKeys;
  host: string;
  port: number;
  hostKeysDir: string;
  lockout: { maxFailures: number; windowMs: number; lockMs: number; baseDelayMs: number };
  /** GATEWAY_MAX_BODY_BYTES: no upload is larger, whatever the partner's own limit. */
  maxBodyBytes: number;
  /** A client that has not logged in after this long is disconnected. */
  loginTimeoutMs?: number;
}

export interface SftpServer {
  port: number;
  hostKeys: HostKey[];
  /** Opened SFTP sessions that are still running (for tests and shutdown). */
  connections(): number;
  close(): Promise<void>;
}

/** The most one READ answers, as OpenSSH's sftp-server (a larger ask gets a short read, as SFTP allows). */
const MAX_READ_BYTES = 255 * 1024;
const DIR_MODE = 0o040755;
const FILE_MODE = 0o100644;
// A scrypt hash of a random password: unknown users cost the same time as known ones.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$gTjoRTF8LrpAnw2uD3vFZ0ElptqFQOVQ4Q5TyVbyjMg=';

/**
 * The hosted SFTP door. Partners log in as their partner id with a listed public key (or their
 * optional password) and see a virtual tree served from the database (`PartnerFiles`): nothing on
 * this host's disk is reachable. A file closed in `/inbound` is committed as a message before the
 * close is answered; the pipeline takes it from there.
 */
export async function startSftpServer(opts: SftpServerOptions): Promise<SftpServer> {
  const { log } = opts;
  const hostKeys = ensureHostKeys(opts.hostKeysDir, opts.master);
  const throttle = new LoginThrottle(opts.knex, opts.lockout);
  const live = new Set<Connection>();

  const server = new Server({ hostKeys: hostKeys.map((k) => k.privateKey), ident: 'partner-gateway' }, (client, info) => {
    const address = info.ip;
    live.add(client);
    // Each SFTP request waits for its answer: without TCP_NODELAY, Nagle's algorithm and the client's
    // delayed ACK hold every small answer back about 40 ms (OpenSSH's sshd sets it too).
    (client as unknown as { setNoDelay(noDelay: boolean): void }).setNoDelay(true); // in ssh2's connection, not in its types
    let partner: Readonly<PartnerProfile> | undefined;
    let scopes: ReadonlySet<string> | undefined;
    const loginTimer = setTimeout(() => {
      log.info({ address }, 'sftp: no login in time, disconnecting');
      client.end();
    }, opts.loginTimeoutMs ?? 30_000);
    client.on('error', (err) => log.debug({ address, err: err.message }, 'sftp: connection error'));
    client.on('close', () => {
      clearTimeout(loginTimer);
      live.delete(client);
    });
    client.on(
      'authentication',
      (ctx) =>
        void authenticate(ctx, address).then(
          (p) => {
            if (p) [partner, scopes] = [p.partner, p.scopes];
          },
          // The credential store is unreachable: fail closed (the client may try again later).
          (err: Error) => {
            log.error({ address, partner: ctx.username, err: err.message }, 'sftp: login refused, credentials cannot be checked');
            ctx.reject();
          },
        ),
    );
    client.on('ready', () => {
      clearTimeout(loginTimer);
      client.on('session', (accept) => {
        const session = accept();
        session.on('sftp', (acceptSftp) => {
          if (!partner) return;
          const files = new PartnerFiles(opts.knex, opts.receiver, partner, opts.maxBodyBytes, scopes);
          const sftp = acceptSftp();
          // A protocol error ends this session only, never the process.
          sftp.on('error', (err: Error) => log.warn({ partner: partner?.id, address, err: err.message }, 'sftp: session error'));
          serveSftp(sftp, files, address, log);
        });
      });
    });
  });

  /** Decides one authentication attempt; resolves with the partner on success. */
  async function authenticate(ctx: AuthContext, address: string): Promise<{ partner: Readonly<PartnerProfile>; scopes: ReadonlySet<string> } | undefined> {
    const user = ctx.username;
    const partner = opts.config().partners.get(user);
    const methods: ('publickey' | 'password')[] = partner?.credentials.sftpPassword ? ['publickey', 'password'] : ['publickey'];
    if (ctx.method === 'none') return void ctx.reject(methods);
    const refuse = async (reason: string, fingerprint?: string) => {
      const delay = await throttle.failure(user, address);
      log.warn({ partner: user, address, method: ctx.method, fingerprint, reason }, 'sftp: login refused');
      await audit(opts.knex, {
        actor: `partner:${user}`,
        action: 'sftp.login',
        target: `partner:${user}`,
        source: address,
        outcome: 'denied',
        details: { method: ctx.method, fingerprint: fingerprint ?? null, reason },
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, delay));
      ctx.reject(methods);
      return undefined;
    };
    const locked = await throttle.lockedFor(user, address);
    if (locked > 0) {
      log.warn({ partner: user, address, method: ctx.method, lockedForMs: locked }, 'sftp: login refused (locked out after repeated failures)');
      return void ctx.reject(methods);
    }
    if (ctx.method === 'publickey') {
      const presented = ctx.key.data;
      // Keys from the profile and from the store, without expired, retired or revoked ones.
      const keys = partner ? await opts.credentials.usable('ssh-key', partner.id) : [];
      const listed = keys.find((k) => {
        const pk = parsePublicKey(String(k.public.key));
        return !(pk instanceof Error) && sameKey(pk.blob, presented);
      });
      const fingerprint = parsePublicKey(`${ctx.key.algo} ${presented.toString('base64')}`);
      const fp = fingerprint instanceof Error ? undefined : fingerprint.fingerprint;
      if (!partner || !listed) return refuse(partner ? 'key not listed for this partner, or expired, retired or revoked' : 'unknown user', fp);
      if (!ctx.signature) return void ctx.accept(); // The client asks whether this key would do; it signs next.
      const pk = parsePublicKey(String(listed.public.key)) as Exclude<ReturnType<typeof parsePublicKey>, Error>;
      if (pk.parsed.verify(ctx.blob!, ctx.signature, ctx.hashAlgo) !== true) return refuse('bad signature', fp);
      opts.credentials.noteUse(listed);
      return admit(partner, grantedScopes(partner, listed.scopes), fp);
    }
    if (ctx.method === 'password') {
      const ok = await verifyPassword(ctx.password, partner?.credentials.sftpPassword ?? DUMMY_HASH);
      if (!partner?.credentials.sftpPassword || !ok) return refuse(partner ? 'wrong password' : 'unknown user');
      return admit(partner, allowedScopes(partner));
    }
    return void ctx.reject(methods);

    async function admit(
      p: Readonly<PartnerProfile>,
      scopes: ReadonlySet<string>,
      fingerprint?: string,
    ): Promise<{ partner: Readonly<PartnerProfile>; scopes: ReadonlySet<string> } | undefined> {
      if (isSuspended(p)) return void (await refuse('partner suspended', fingerprint));
      if (!p.channels.includes('sftp')) return void (await refuse(channelNotListed(p, 'sftp', 'log in over SFTP'), fingerprint));
      await throttle.success(user, address);
      log.info({ partner: p.id, address, method: ctx.method, fingerprint }, 'sftp: login');
      await audit(opts.knex, {
        actor: `partner:${p.id}`,
        action: 'sftp.login',
        target: `partner:${p.id}`,
        source: address,
        outcome: 'ok',
        details: { method: ctx.method, fingerprint: fingerprint ?? null, scopes: [...scopes] },
      }).catch((err: Error) => log.error({ err: err.message }, 'audit: cannot record the login'));
      ctx.accept();
      return { partner: p, scopes };
    }
  }

  await new Promise<void>((resolve, reject) => {
    const refused = (err: Error) => reject(listenError(err, { name: 'SFTP', port: opts.port, variable: 'SFTP_PORT' }));
    server.once('error', refused);
    server.listen(opts.port, opts.host, () => {
      server.off('error', refused);
      server.on('error', (err: Error) => log.error({ err: err.message }, 'sftp: server error'));
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port, hostKeys: hostKeys.map((k) => `${k.type} ${k.fingerprint}`) }, 'SFTP listening');
  return {
    port,
    hostKeys,
    connections: () => live.size,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of live) c.end();
      }),
  };
}

type Handle =
  | { kind: 'dir'; entries: FileEntry[]; sent: boolean }
  | { kind: 'read'; entry: Entry; folder: Folder; cache?: { offset: number; data: Buffer }; queue: Promise<unknown> }
  | { kind: 'write'; upload: Upload; path: string };

/** Answers one SFTP session's requests against the partner's virtual tree. */
function serveSftp(sftp: SFTPWrapper, files: PartnerFiles, address: string, log: Logger): void {
  const partnerId = files.partner.id;
  const handles = new Map<number, Handle>();
  let nextHandle = 1;
  const open = (h: Handle): Buffer => {
    const id = nextHandle++;
    handles.set(id, h);
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const handleOf = (b: Buffer): [number, Handle | undefined] => {
    const id = b.length === 4 ? b.readUInt32BE(0) : -1;
    return [id, handles.get(id)];
  };

  /** Runs a request; a thrown FsError or PathRefused becomes the matching status, anything else FAILURE. */
  const answer = (reqId: number, what: string, fn: () => Promise<void> | void): Promise<void> =>
    Promise.resolve()
      .then(fn)
      .catch((err: unknown) => {
        if (err instanceof PathRefused) {
          log.warn({ partner: partnerId, address, request: what, reason: err.message }, 'sftp: path refused');
          return sftp.status(reqId, STATUS_CODE.PERMISSION_DENIED, `GW_SFTP_PATH: ${err.message}`);
        }
        if (err instanceof FsError) {
          const code = {
            denied: STATUS_CODE.PERMISSION_DENIED,
            missing: STATUS_CODE.NO_SUCH_FILE,
            failure: STATUS_CODE.FAILURE,
            unsupported: STATUS_CODE.OP_UNSUPPORTED,
          }[err.kind];
          if (err.kind === 'failure') log.warn({ partner: partnerId, address, request: what, reason: err.message, cause: causes(err) }, 'sftp: request failed');
          return sftp.status(reqId, code, err.message);
        }
        log.error({ partner: partnerId, address, request: what, err: (err as Error).message }, 'sftp: request failed unexpectedly');
        sftp.status(reqId, STATUS_CODE.FAILURE, 'GW_INTERNAL: the request failed; try again');
      });

  const place = (p: string): Place => {
    const r = resolvePath(p);
    if (!r) throw new FsError('missing', `no such file or folder: ${p}`);
    return r;
  };
  const filePlace = (p: string) => {
    const r = place(p);
    if (r.kind !== 'file') throw new FsError('denied', `${r.path} is a folder`);
    return r;
  };
  const attrsOf = (e: Entry | 'dir') =>
    e === 'dir'
      ? { mode: DIR_MODE, uid: 0, gid: 0, size: 0, atime: 0, mtime: 0 }
      : { mode: FILE_MODE, uid: 0, gid: 0, size: e.size, atime: seconds(e.mtime), mtime: seconds(e.mtime) };
  const stat = async (p: string) => {
    const r = place(p);
    if (r.kind !== 'file') return attrsOf('dir');
    const e = await files.stat(r.folder, r.name);
    if (!e) throw new FsError('missing', `no file ${r.path}`);
    return attrsOf(e);
  };

  sftp.on('REALPATH', (reqId, p) =>
    answer(reqId, 'realpath', () => {
      // A path that names nothing still gets its canonical form (clients resolve a target before creating it).
      const resolved = resolvePath(p)?.path ?? `/${pathSegments(p).join('/')}`;
      sftp.name(reqId, [{ filename: resolved, longname: resolved, attrs: attrsOf('dir') }]);
    }),
  );
  for (const op of ['STAT', 'LSTAT'] as const)
    sftp.on(op, (reqId: number, p: string) => void answer(reqId, op.toLowerCase(), async () => void sftp.attrs(reqId, await stat(p))));
  sftp.on('FSTAT', (reqId, handle) =>
    answer(reqId, 'fstat', () => {
      const [, h] = handleOf(handle);
      if (!h) throw new FsError('failure', 'invalid handle');
      sftp.attrs(
        reqId,
        h.kind === 'read' ? attrsOf(h.entry) : h.kind === 'write' ? attrsOf({ name: '', size: h.upload.size, mtime: new Date() }) : attrsOf('dir'),
      );
    }),
  );
  sftp.on('OPENDIR', (reqId, p) =>
    answer(reqId, 'opendir', async () => {
      const r = place(p);
      if (r.kind === 'file') throw new FsError('failure', `${r.path} is not a folder`);
      const entries: FileEntry[] =
        r.kind === 'root'
          ? FOLDERS.map((f) => ({ filename: f, longname: longname(f, attrsOf('dir'), new Date(0)), attrs: attrsOf('dir') }))
          : (await files.list(r.folder)).map((e) => ({ filename: e.name, longname: longname(e.name, attrsOf(e), e.mtime), attrs: attrsOf(e) }));
      sftp.handle(reqId, open({ kind: 'dir', entries, sent: false }));
    }),
  );
  sftp.on('READDIR', (reqId, handle) =>
    answer(reqId, 'readdir', () => {
      const [, h] = handleOf(handle);
      if (h?.kind !== 'dir') throw new FsError('failure', 'invalid handle');
      if (h.sent || h.entries.length === 0) return sftp.status(reqId, STATUS_CODE.EOF);
      h.sent = true;
      sftp.name(reqId, h.entries);
    }),
  );
  sftp.on('OPEN', (reqId, p, flags) =>
    answer(reqId, 'open', async () => {
      const r = filePlace(p);
      const writing = (flags & (OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC)) !== 0;
      if (writing) {
        if (r.folder !== 'inbound') throw new FsError('denied', `/${r.folder} is read-only; upload to /inbound`);
        if (flags & OPEN_MODE.READ) throw new FsError('denied', '/inbound is write-only');
        if (flags & OPEN_MODE.APPEND) throw new FsError('unsupported', 'appending (resuming an upload) is not supported; upload the whole file again');
        if (flags & OPEN_MODE.EXCL && (await files.stat('inbound', r.name))) throw new FsError('failure', `${r.path} exists`);
        if (!files.mayUpload()) throw new FsError('denied', 'this login holds no write scope (asn:write, invoice:write …)');
        return sftp.handle(reqId, open({ kind: 'write', upload: files.upload(r.name), path: r.path }));
      }
      if (r.folder === 'inbound') throw new FsError('denied', '/inbound is write-only; your files are in /archive once processed');
      const entry = await files.stat(r.folder, r.name);
      if (!entry) throw new FsError('missing', `no file ${r.path}`);
      sftp.handle(reqId, open({ kind: 'read', entry, folder: r.folder, queue: Promise.resolve() }));
    }),
  );
  sftp.on('READ', (reqId, handle, offset, length) => {
    const [, h] = handleOf(handle);
    if (h?.kind !== 'read') return sftp.status(reqId, STATUS_CODE.FAILURE, 'invalid handle');
    // Reads are answered in order through one queue per handle, from a 1 MiB window read by slice.
    h.queue = h.queue.then(() =>
      answer(reqId, 'read', async () => {
        if (offset >= h.entry.size) return sftp.status(reqId, STATUS_CODE.EOF);
        const want = Math.min(length, MAX_READ_BYTES, h.entry.size - offset);
        if (!h.cache || offset < h.cache.offset || offset + want > h.cache.offset + h.cache.data.length) {
          h.cache = { offset, data: await files.read(h.entry.messageId!, offset, Math.max(want, 1 << 20)) };
        }
        const from = offset - h.cache.offset;
        const data = h.cache.data.subarray(from, from + want);
        if (data.length === 0) return sftp.status(reqId, STATUS_CODE.EOF);
        sftp.data(reqId, data);
      }),
    );
  });
  sftp.on('WRITE', (reqId, handle, offset, data) =>
    answer(reqId, 'write', async () => {
      const [, h] = handleOf(handle);
      if (h?.kind !== 'write') throw new FsError('failure', 'invalid handle');
      await h.upload.write(offset, data);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('CLOSE', (reqId, handle) =>
    answer(reqId, 'close', async () => {
      const [id, h] = handleOf(handle);
      if (!h) throw new FsError('failure', 'invalid handle');
      handles.delete(id);
      if (h.kind === 'write') {
        const result = await h.upload.close();
        if (result === 'held') log.info({ partner: partnerId, address, file: h.path, bytes: h.upload.size }, 'sftp: upload held under a temporary name');
        else log.info({ partner: partnerId, address, file: h.path, bytes: h.upload.size, messageId: result.messageId }, 'sftp: upload committed');
      }
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('REMOVE', (reqId, p) =>
    answer(reqId, 'remove', async () => {
      const r = filePlace(p);
      await files.remove(r.folder, r.name);
      log.info({ partner: partnerId, address, file: r.path }, 'sftp: removed');
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('RENAME', (reqId, from, to) =>
    answer(reqId, 'rename', async () => {
      const a = filePlace(from);
      const b = filePlace(to);
      const receipt = await files.rename(a, b);
      if (receipt)
        log.info({ partner: partnerId, address, file: b.path, messageId: receipt.messageId }, 'sftp: upload committed (renamed from its temporary name)');
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  // Attribute changes (`put -p`) are accepted and ignored: the tree has no owners or modes to keep.
  sftp.on('SETSTAT', (reqId, p) =>
    answer(reqId, 'setstat', async () => {
      await stat(p);
      sftp.status(reqId, STATUS_CODE.OK);
    }),
  );
  sftp.on('FSETSTAT', (reqId) => sftp.status(reqId, STATUS_CODE.OK));
  for (const op of ['MKDIR', 'RMDIR'] as const) {
    sftp.on(op, (reqId: number, p: string) =>
      answer(reqId, op.toLowerCase(), () => (place(p), Promise.reject(new FsError('denied', 'the folders are fixed: /inbound, /outbound, /archive')))),
    );
  }
  sftp.on('SYMLINK', (reqId, target, link) =>
    answer(reqId, 'symlink', () => (resolvePath(link), resolvePath(target), Promise.reject(new FsError('denied', 'links are not supported')))),
  );
  sftp.on('READLINK', (reqId, p) => answer(reqId, 'readlink', () => (place(p), Promise.reject(new FsError('failure', `${p} is not a link`)))));
  sftp.on('EXTENDED', (reqId) => sftp.status(reqId, STATUS_CODE.OP_UNSUPPORTED));

  // The client sent EOF (`bye`, or the end of a batch): close our side so that OpenSSH's sftp exits.
  sftp.on('end', () => sftp.end());
  sftp.on('close', () => {
    // A file still open here was cut off by a disconnect: its bytes are discarded, never processed.
    for (const h of handles.values()) {
      if (h.kind === 'write') {
        log.warn({ partner: partnerId, address, file: h.path, bytes: h.upload.size }, 'sftp: upload cut off before close; discarded');
        void h.upload.abort();
      }
    }
    handles.clear();
  });
}

/** The messages of an error's causes (a store failure behind an FsError), for the log only. */
function causes(err: Error): string | undefined {
  const found: string[] = [];
  for (let c = err.cause; c instanceof Error && found.length < 4; c = c.cause) found.push(c.message);
  return found.length ? found.join(' <- ') : undefined;
}

function seconds(d: Date): number {
  return Math.floor(new Date(d).getTime() / 1000);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An `ls -l` line, as OpenSSH's sftp prints what the server sends. */
function longname(name: string, attrs: { mode: number; size: number }, mtime: Date): string {
  const d = new Date(mtime);
  const perms = attrs.mode === DIR_MODE ? 'drwxr-xr-x' : '-rw-r--r--';
  const date =
    `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ` +
    `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${perms}    1 gateway  gateway  ${String(attrs.size).padStart(10)} ${date} ${name}`;
}
