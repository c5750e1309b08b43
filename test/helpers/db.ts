import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createLogger } from '../../src/observability/logger.js';
import { connect, migrate, startEmbedded, type EmbeddedServer } from '../../src/store/db.js';

/**
 * One PostgreSQL per test run: the server at TEST_DATABASE_URL, or an embedded one in a temporary
 * folder. Migrations run once into a template database; every suite gets a fresh clone of it.
 */
interface RunState {
  adminUrl?: string;
  embedded?: EmbeddedServer;
  embeddedDir?: string;
  admin?: Knex;
  counter: number;
}
// Mocha may load this helper through more than one module loader; the run has one state.
const state: RunState = ((globalThis as { __gatewayTestDb?: RunState }).__gatewayTestDb ??= { counter: 0 });
const prefix = `gw_test_${process.pid}`;
const template = `${prefix}_template`;

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export function databaseKind(): string {
  return process.env.TEST_DATABASE_URL ? 'TEST_DATABASE_URL' : 'embedded PostgreSQL';
}

export async function startTestDatabase(): Promise<void> {
  let adminUrl: string;
  if (process.env.TEST_DATABASE_URL) adminUrl = process.env.TEST_DATABASE_URL;
  else {
    state.embeddedDir = await mkdtemp(path.join(tmpdir(), 'gw-test-pg-'));
    state.embedded = await startEmbedded(state.embeddedDir, createLogger('warn'));
    adminUrl = state.embedded.url;
  }
  state.adminUrl = adminUrl;
  const admin = (state.admin = connect(adminUrl, 2));
  await admin.raw(`DROP DATABASE IF EXISTS ${template}`);
  await admin.raw(`CREATE DATABASE ${template}`);
  const t = connect(withDatabase(adminUrl, template), 1);
  await migrate(t);
  await t.destroy();
}

export async function stopTestDatabase(): Promise<void> {
  const { admin } = state;
  if (admin) {
    const { rows } = await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE '${prefix}%'`);
    for (const r of rows as { datname: string }[]) await admin.raw(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`);
    await admin.destroy();
  }
  await state.embedded?.stop();
  if (state.embeddedDir) await rm(state.embeddedDir, { recursive: true, force: true });
}

export interface TestDatabase {
  url: string;
  knex: Knex;
  drop(): Promise<void>;
}

/** A new database with no table at all (to test a migration on the rows of an earlier schema). */
export const emptyDatabase = (): Promise<TestDatabase> => newDatabase(undefined, 4);

/** A new database with every migration applied, cloned from the template (fast). */
export const freshDatabase = (): Promise<TestDatabase> => newDatabase(template, 10);

async function newDatabase(from: string | undefined, poolMax: number): Promise<TestDatabase> {
  const { admin, adminUrl } = state;
  if (!admin || !adminUrl) throw new Error('test database not started (test/setup.ts)');
  const name = `${prefix}_${++state.counter}`;
  await admin.raw(`CREATE DATABASE ${name}${from ? ` TEMPLATE ${from}` : ''}`);
  const url = withDatabase(adminUrl, name);
  const knex = connect(url, poolMax);
  return {
    url,
    knex,
    drop: async () => {
      await knex.destroy();
      await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}
