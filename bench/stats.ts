/**
 * The console's stats on many messages (decision 0031): each query (`24h` and `30d`, all partners
 * and one) timed BENCH_STATS_RUNS times (20) from the hourly rollups, p50/p95 printed beside one run
 * of the on-the-fly aggregation it replaced; fails when a p95 is over 200 ms or when the answers
 * differ (counts exactly, percentiles beyond the histogram's ±9 % or 1 ms).
 *
 * BENCH_STATS_DATABASE_URL: a migrated database whose messages are measured as they are. Else
 * BENCH_STATS_MESSAGES (1,000,000) inbound messages over 30 days, 20 partners, 2 % rejected, each
 * other one delivered after a random latency, are generated in a database of its own on
 * BENCH_DATABASE_URL's server (or an embedded one).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { createLogger } from '../src/observability/logger.js';
import { rollUpHours } from '../src/pipeline/ops-rollups.js';
import { type OpsStats, opsStats, type StatsWindow } from '../src/pipeline/ops-stats.js';
import { connect, migrate, startEmbedded } from '../src/store/db.js';
import { differences, opsStatsOnTheFly } from '../test/helpers/ops-stats-reference.js';

const TARGET_MS = 200;
const RUNS = Number(process.env.BENCH_STATS_RUNS ?? 20);
const MESSAGES = Number(process.env.BENCH_STATS_MESSAGES ?? 1_000_000);

/** Inbound messages spread evenly over the last 30 days, and a delivered delivery for each not rejected. */
async function generate(knex: Knex, n: number): Promise<void> {
  await knex.raw(
    `INSERT INTO messages (id, partner_id, channel, direction, content_type, format, size_bytes, sha256, correlation_id, state, received_at, updated_at)
     SELECT gen_random_uuid(), 'partner-' || (i % 20), 'rest', 'inbound', 'application/json', 'json', 100, md5(i::text), md5(i::text),
            CASE WHEN i % 50 = 0 THEN 'rejected' ELSE 'delivered' END, t, t
       FROM generate_series(1, ?::int) i, LATERAL (SELECT now() - i * interval '30 days' / ?::int AS t) x`,
    [n, n],
  );
  await knex.raw(
    `INSERT INTO deliveries (id, message_id, partner_id, target_id, target, idempotency_key, state, attempts, delivered_at)
     SELECT gen_random_uuid(), m.id, m.partner_id, 'erp-http', '{}', m.id::text, 'delivered', 1, m.received_at + exp(random() * 12) * interval '1 ms'
       FROM messages m WHERE m.state = 'delivered'`,
  );
  await knex.raw('ANALYZE messages');
  await knex.raw('ANALYZE deliveries');
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const r = await fn();
  return [performance.now() - start, r];
}

async function measure(knex: Knex): Promise<boolean> {
  const [catchUp] = await timed(async () => {
    while (await rollUpHours(knex));
  });
  const [steady] = await timed(() => rollUpHours(knex));
  console.log(`rollups: catching up ${catchUp.toFixed(0)} ms, a steady run (recomputes the grace period) ${steady.toFixed(0)} ms`);
  const partner = (await knex('messages').first('partner_id').where('direction', 'inbound'))?.partner_id as string | undefined;
  let ok = true;
  console.log('query                         | on the fly | rollups p50 | rollups p95');
  for (const window of ['24h', '30d'] as StatsWindow[]) {
    for (const who of [undefined, partner]) {
      const [before, reference] = await timed(() => opsStatsOnTheFly(knex, window, who));
      const times: number[] = [];
      let answer: OpsStats | undefined;
      for (let i = 0; i < RUNS; i++) {
        const [ms, r] = await timed(() => opsStats(knex, window, who));
        times.push(ms);
        answer = r;
      }
      times.sort((x, y) => x - y);
      const p95 = percentile(times, 0.95);
      const label = `${window} ${who ? `partner ${who}` : 'all partners'}`.padEnd(29);
      console.log(`${label} | ${before.toFixed(0).padStart(7)} ms | ${percentile(times, 0.5).toFixed(0).padStart(8)} ms | ${p95.toFixed(0).padStart(8)} ms`);
      const diff = differences(answer as OpsStats, reference);
      if (diff.length) console.log(`  DIFFERS from the on-the-fly aggregation:\n  ${diff.slice(0, 5).join('\n  ')}`);
      if (p95 > TARGET_MS) console.log(`  OVER the target of ${TARGET_MS} ms`);
      ok &&= diff.length === 0 && p95 <= TARGET_MS;
    }
  }
  return ok;
}

async function main(): Promise<void> {
  const given = process.env.BENCH_STATS_DATABASE_URL;
  if (given) {
    const knex = connect(given, 4);
    try {
      if (!(await measure(knex))) process.exitCode = 1;
    } finally {
      await knex.destroy();
    }
    return;
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-stats-'));
  const pg = process.env.BENCH_DATABASE_URL ? undefined : await startEmbedded(dir, createLogger('warn'));
  const serverUrl = process.env.BENCH_DATABASE_URL ?? pg?.url ?? '';
  const name = `bench_stats_${process.pid}`;
  const admin = connect(serverUrl, 1);
  await admin.raw(`CREATE DATABASE ${name}`);
  const knex = connect(serverUrl.replace(/\/[^/]*$/, `/${name}`), 4);
  try {
    await migrate(knex);
    const [ms] = await timed(() => generate(knex, MESSAGES));
    console.log(`generated ${MESSAGES} messages in ${(ms / 1000).toFixed(0)} s`);
    if (!(await measure(knex))) process.exitCode = 1;
  } finally {
    await knex.destroy();
    await admin.raw(`DROP DATABASE ${name}`);
    await admin.destroy();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
