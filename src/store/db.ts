import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { startEmbedded, type EmbeddedOptions } from './embedded.js';

export { startEmbedded, type EmbeddedServer } from './embedded.js';

export interface Database {
  knex: Knex;
  /** What database is in use, for the log: the URL with its password masked, or the embedded folder. */
  describe: string;
  close(): Promise<void>;
}

/** Migrations live in migrations/ at the top of the repository (compiled beside dist/src). */
const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

class DirectoryMigrationSource implements Knex.MigrationSource<string> {
  /** Only the migrations up to this one (its name without extension); all when unset. */
  constructor(private readonly upTo?: string) {}

  async getMigrations(): Promise<string[]> {
    const files = await readdir(MIGRATIONS_DIR);
    const all = files.filter((f) => /^\d+_.+\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
    return this.upTo ? all.filter((f) => this.getMigrationName(f) <= this.upTo!) : all;
  }
  getMigrationName(file: string): string {
    return file.replace(/\.(ts|js)$/, '');
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    return import(pathToFileURL(path.join(MIGRATIONS_DIR, file)).href) as Promise<Knex.Migration>;
  }
}

/**
 * Runs every pending migration (or those up to `upTo`, for testing a migration against the rows of
 * an earlier schema); the same files run on the embedded server and on any PostgreSQL.
 */
export async function migrate(knex: Knex, upTo?: string): Promise<string[]> {
  const [, applied] = (await knex.migrate.latest({ migrationSource: new DirectoryMigrationSource(upTo) })) as [number, string[]];
  return applied;
}

/** Answers when the database takes a query; throws when it does not (the readiness probe). */
export async function pingDatabase(knex: Knex): Promise<void> {
  await knex.raw('select 1');
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

/**
 * Opens the database: `databaseUrl` when given, otherwise an embedded server on `dataDir` (its
 * `onLost` and `onRestarted` report on that server's life; see src/store/embedded.ts).
 */
export async function openDatabase(
  opts: { databaseUrl?: string; dataDir: string; log: Logger; poolMax?: number } & Pick<EmbeddedOptions, 'onLost' | 'onRestarted'>,
): Promise<Database> {
  if (opts.databaseUrl) {
    await checkReachable(opts.databaseUrl);
    const knex = connect(opts.databaseUrl, opts.poolMax, opts.log);
    return { knex, describe: opts.databaseUrl.replace(/:[^:@/]*@/, ':***@'), close: () => knex.destroy() };
  }
  const server = await startEmbedded(opts.dataDir, opts.log, {
    ...(opts.onLost ? { onLost: opts.onLost } : {}),
    ...(opts.onRestarted ? { onRestarted: opts.onRestarted } : {}),
  });
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

/** How long opening a database given by URL may take before it counts as unreachable. */
const CONNECT_TIMEOUT_MS = 5_000;

/**
 * Connects once, with a short timeout, before the pool is made: a wrong DATABASE_URL is then one
 * clear line at start, rather than knex's "pool is probably full" after its acquire timeout.
 */
async function checkReachable(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  client.on('error', () => undefined);
  const started = Date.now();
  try {
    await client.connect();
  } catch (err) {
    // pg reports its own timeout as "Connection terminated unexpectedly": say what happened instead.
    const timedOut = Date.now() - started >= CONNECT_TIMEOUT_MS - 100;
    const reason = timedOut ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s` : (err as Error).message || String(err);
    throw new GatewayError(
      'GW_STORE_CONNECT',
      `cannot reach the database at ${where(url)}: ${reason}. Check DATABASE_URL (unset, the gateway runs an embedded PostgreSQL).`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** host:port/database of a connection URL, without the credentials. */
function where(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || 'localhost'}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'DATABASE_URL (not a URL)';
  }
}
