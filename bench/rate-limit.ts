/**
 * The shared rate limiter (decision 0041) alone: takes per second against PostgreSQL, with the
 * calls for one key grouped into one statement (the gateway's RateLimiter) against one statement
 * per call (a limiter per caller, so nothing is grouped). Budgets are large enough that every take
 * is granted, as on a healthy hot door. Not part of `npm run bench`:
 *   node --import tsx bench/rate-limit.ts      (BENCH_DATABASE_URL, or an embedded PostgreSQL)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createLogger } from '../src/observability/logger.js';
import { RateLimiter } from '../src/security/rate-limit.js';
import { connect, migrate, startEmbedded } from '../src/store/db.js';

const IN_FLIGHT = 50;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

/**
 * Takes per second with IN_FLIGHT callers, each on `limiterOf(caller)`, spread over `keys` keys of
 * its own (`run`), so that each run starts with no rows: inserting a bucket costs more than updating it.
 */
async function takesPerSecond(run: string, limiterOf: (caller: number) => RateLimiter, keys: number): Promise<number> {
  let done = 0;
  const until = Date.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async (_, caller) => {
      while (Date.now() < until) {
        if ((await limiterOf(caller).take(`bench:${run}:${(done + caller) % keys}`, 1e9)) !== 0) throw new Error('refused');
        done++;
      }
    }),
  );
  return done / SECONDS;
}

async function run(knex: Knex): Promise<void> {
  await migrate(knex);
  const grouped = new RateLimiter(knex);
  const perCaller = Array.from({ length: IN_FLIGHT }, () => new RateLimiter(knex));
  const one = new RateLimiter(knex);
  const ms = async (fn: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 500; i++) await fn();
    return (Number(process.hrtime.bigint() - t0) / 1e6 / 500).toFixed(3);
  };
  const [take, select] = [await ms(() => one.take('bench:alone', 1e9)), await ms(() => knex.raw('select 1'))];
  console.log(`one caller, one key: ${take} ms a take (\`select 1\`: ${select} ms)`);
  for (const keys of [1, 20, 1000]) {
    const g = await takesPerSecond(`grouped-${keys}`, () => grouped, keys);
    const u = await takesPerSecond(`single-${keys}`, (c) => perCaller[c] as RateLimiter, keys);
    console.log(`${IN_FLIGHT} in flight, ${keys} key(s): grouped ${g.toFixed(0)} takes/s, one statement per take ${u.toFixed(0)}/s (${(g / u).toFixed(2)}×)`);
  }
}

const url = process.env.BENCH_DATABASE_URL;
const dir = url ? undefined : await mkdtemp(path.join(tmpdir(), 'gw-bench-rl-'));
const embedded = dir ? await startEmbedded(dir, createLogger('warn')) : undefined;
const knex = connect(url ?? (embedded as { url: string }).url, 10);
try {
  await run(knex);
} finally {
  await knex.destroy();
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
