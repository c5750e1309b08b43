/**
 * Benchmarks, reported as ratios against a baseline measured in the same run on the same machine.
 *
 * 1. receive: storing raw messages with grouped commits (the gateway's Receiver: up to 100
 *    messages or 2 ms per transaction) against one commit per message (maxBatch 1), with 64
 *    submissions in flight, on a fresh embedded PostgreSQL (or BENCH_DATABASE_URL); and grouped
 *    with the gateway's counters and its info line per message (logged at warn, as in production).
 * 2. interpret: X12 856 → canonical ASN through the mapping profile, against parsing alone.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config/load.js';
import { parseX12 } from '../src/formats/x12/parse.js';
import { createLogger } from '../src/observability/logger.js';
import { GatewayMetrics } from '../src/observability/metrics.js';
import { interpret } from '../src/pipeline/interpret.js';
import { Receiver } from '../src/pipeline/receive.js';
import { connect, migrate, startEmbedded } from '../src/store/db.js';
import { opsPerSecond } from './lib.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const sample = readFileSync(path.join(REPO, 'mappings/acme-supply/samples/856-004060-SOI.edi'));
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 3000);
const IN_FLIGHT = 64;

async function receiveRate(receiver: Receiver): Promise<number> {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < MESSAGES) {
        next++;
        await receiver.receive({ partnerId: 'bench', channel: 'rest', contentType: 'application/edi-x12', format: 'x12', bytes: sample });
      }
    }),
  );
  return MESSAGES / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function main(): Promise<void> {
  const log = createLogger('warn');
  let dir: string | undefined;
  let stop = async () => {};
  let url = process.env.BENCH_DATABASE_URL;
  if (!url) {
    dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-'));
    const pg = await startEmbedded(dir, log);
    url = pg.url;
    stop = pg.stop;
  }
  const knex = connect(url, 10);
  try {
    await migrate(knex);
    // Warm up the connection pool and the table.
    await receiveRate(new Receiver(knex, { maxBatch: 100, maxWaitMs: 2 }));
    await knex('events').del();
    await knex('messages').del();
    const single = await receiveRate(new Receiver(knex, { maxBatch: 1, maxWaitMs: 0 }));
    const grouped = await receiveRate(new Receiver(knex, { maxBatch: 100, maxWaitMs: 2 }));
    console.log(`receive  baseline (one commit per message): ${single.toFixed(0)} msg/s`);
    const counted = await receiveRate(new Receiver(knex, { maxBatch: 100, maxWaitMs: 2, metrics: new GatewayMetrics(), log }));
    console.log(`receive  grouped commits:                   ${grouped.toFixed(0)} msg/s   ratio ${(grouped / single).toFixed(2)}x`);
    console.log(`receive  grouped, counted and logged:       ${counted.toFixed(0)} msg/s   ratio ${(counted / grouped).toFixed(2)}x of grouped`);
  } finally {
    await knex.destroy();
    await stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  }

  const config = await loadConfig({
    partnersDir: path.join(REPO, 'partners'),
    mappingsDir: path.join(REPO, 'mappings'),
    env: { GATEWAY_DATA_DIR: '/tmp/bench' },
  });
  const partner = config.partners.get('acme-supply');
  if (!partner) throw new Error('demo partner missing');
  const parseOnly = opsPerSecond(() => parseX12(sample));
  const full = opsPerSecond(() => interpret(sample, 'x12', partner, config));
  console.log(`interpret baseline (parse only):             ${parseOnly.toFixed(0)} docs/s`);
  console.log(`interpret parse + map + validate:            ${full.toFixed(0)} docs/s   ratio ${(full / parseOnly).toFixed(2)}x of parsing alone`);
}

await main();
