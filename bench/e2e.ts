/**
 * End to end, against a baseline in the same run: JSON ASNs of about 2 KB posted over REST at
 * concurrency 50 by the northwind key (its rate limit raised) to the real gateway process, each
 * delivered over HTTP to a local ERP receiver; beside a bare Koa endpoint (bench/bare-server.ts)
 * that only stores each body with grouped commits in the same database.
 *
 * Prints documents/s to 202 and to delivered, p50/p99 to 202, the delivery lag (202 → the ERP has
 * it) p50/p99 while the load runs, the gateway's peak RSS, and the ratios. Checks its own honesty:
 * every document answered 202 is delivered exactly once by idempotency key, and none is lost.
 *
 * BENCH_E2E_DOCS (4000), BENCH_E2E_CONCURRENCY (50), BENCH_DATABASE_URL (else an embedded server),
 * BENCH_CPU_PROF (a folder for the gateway's CPU profile).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/observability/logger.js';
import { connect, startEmbedded } from '../src/store/db.js';
import { gatewayEnv, spawnGateway, writeTestPartners } from '../test/helpers/gateway-process.js';
import { NORTHWIND_KEY } from '../test/helpers/gateway.js';

const DOCS = Number(process.env.BENCH_E2E_DOCS ?? 4000);
const CONCURRENCY = Number(process.env.BENCH_E2E_CONCURRENCY ?? 50);

/** A northwind ship notice of about 2 KB, numbered `n`. */
function shipNotice(n: number): string {
  const lines = Array.from({ length: 14 }, (_, i) => ({
    line: String(i + 1),
    sku: `NW-ITEM-${1000 + i}`,
    gtin: '00012345678905',
    description: `Bench item ${i + 1}, case of 12`,
    quantity: 12,
    uom: 'CS',
  }));
  return JSON.stringify({
    documentType: 'ship-notice',
    shipmentNumber: `BENCH-${n}`,
    shippedOn: '2026-11-20',
    tracking: { carrier: 'UPSN', number: `1Z999AA1${String(n).padStart(10, '0')}` },
    purchaseOrders: [{ number: `PO-${n}`, lines }],
  });
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

interface LoadResult {
  seconds: number;
  latenciesMs: number[];
  /** When each accepted message was answered (ms since the epoch), by message id. */
  answeredAt: Map<string, number>;
  refused: number;
}

/** Documents posted first, to each side, and not counted: both have loaded their code and warmed their connections. */
const WARM_UP = 200;

/** Posts `count` bodies at CONCURRENCY, each with its own Idempotency-Key; counts what was not 202. */
async function load(url: string, headers: Record<string, string>, count = DOCS, from = WARM_UP): Promise<LoadResult> {
  let next = 0;
  let refused = 0;
  const latenciesMs: number[] = [];
  const answeredAt = new Map<string, number>();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let n = next++; n < count; n = next++) {
        const start = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { ...headers, 'idempotency-key': `bench-${from + n}` }, body: shipNotice(from + n) });
        const body = (await res.json()) as { messageId?: string };
        latenciesMs.push(performance.now() - start);
        if (res.status !== 202) refused++;
        else if (body.messageId) answeredAt.set(body.messageId, Date.now());
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, latenciesMs: latenciesMs.sort((a, b) => a - b), answeredAt, refused };
}

/** The ERP: counts every idempotency key it receives and when each message's document arrived. */
async function startErp() {
  const keys = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      keys.set(key, (keys.get(key) ?? 0) + 1);
      const { messageId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messageId: string };
      if (!arrivedAt.has(messageId)) arrivedAt.set(messageId, Date.now());
      res.statusCode = 202;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/erp/inbound`;
  return { url, keys, arrivedAt, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The bare baseline as its own process, like the gateway. */
async function bareRun(databaseUrl: string): Promise<LoadResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'bare-server.ts'), databaseUrl], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bare server exited (${code})`)));
  });
  try {
    await load(`http://127.0.0.1:${port}/`, { 'content-type': 'application/json' }, WARM_UP, 0);
    return await load(`http://127.0.0.1:${port}/`, { 'content-type': 'application/json' });
  } finally {
    child.kill('SIGTERM');
  }
}

/** Waits (at most five minutes) until `done`; the honesty check then reports anything missing. */
async function waitUntil(done: () => boolean): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

/** The largest resident set the process had (VmHWM), in MB. */
function peakRssMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** Where the time went, from the store: received → interpreted → delivered, p50/p99 in ms, and the interpretation rate. */
async function stageTimes(databaseUrl: string): Promise<string> {
  const knex = connect(databaseUrl, 1);
  try {
    const { rows } = await knex.raw<{ rows: Record<string, number>[] }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.processed_at - m.received_at)) * 1000 AS interpret_p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM m.processed_at - m.received_at)) * 1000 AS interpret_p99,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - m.processed_at)) * 1000 AS deliver_p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - m.processed_at)) * 1000 AS deliver_p99,
              count(*) / nullif(extract(epoch FROM max(m.processed_at) - min(m.received_at)), 0) AS interpreted_per_s,
              extract(epoch FROM min(m.processed_at) - min(m.received_at)) * 1000 AS first_ms,
              extract(epoch FROM max(m.received_at) - min(m.received_at)) * 1000 AS receiving_ms,
              extract(epoch FROM max(m.processed_at) - min(m.processed_at)) * 1000 AS interpreting_ms
         FROM messages m JOIN deliveries d ON d.message_id = m.id
        WHERE m.partner_id = 'northwind' AND d.target_id = 'erp-http'
          AND m.idempotency_key NOT IN (SELECT 'bench-' || g FROM generate_series(0, ${WARM_UP - 1}) g)`,
    );
    const r = rows[0] ?? {};
    const f = (v: number | undefined) => Number(v ?? Number.NaN).toFixed(0);
    return (
      `received → interpreted p50/p99 ${f(r.interpret_p50)} / ${f(r.interpret_p99)} ms (${f(r.interpreted_per_s)} msg/s); ` +
      `interpreted → delivered p50/p99 ${f(r.deliver_p50)} / ${f(r.deliver_p99)} ms; ` +
      `receiving took ${f(r.receiving_ms)} ms, interpreting ${f(r.interpreting_ms)} ms, the first interpreted after ${f(r.first_ms)} ms`
    );
  } finally {
    await knex.destroy();
  }
}

async function gatewayRun(databaseUrl: string, dataDir: string) {
  const erp = await startErp();
  const partnersDir = await writeTestPartners(dataDir, erp.url, (y) =>
    y.startsWith('id: northwind') ? y.replace('limits: { maxBytes: 65536 }', 'limits: { maxBytes: 65536, requestsPerMinute: 1000000 }') : y,
  );
  // BENCH_CPU_PROF=<dir>: the gateway writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const gw = spawnGateway(
    gatewayEnv(dataDir, partnersDir, {
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
      POLL_MS: '500',
      ...(process.env.DELIVERY_BATCH ? { DELIVERY_BATCH: process.env.DELIVERY_BATCH } : {}),
    }),
    'cli',
    profile,
  );
  try {
    const url = await gw.url();
    const headers = { authorization: `Bearer ${NORTHWIND_KEY}`, 'content-type': 'application/json' };
    const warm = await load(`${url}/v1/messages`, headers, WARM_UP, 0);
    await waitUntil(() => erp.arrivedAt.size >= warm.answeredAt.size);
    erp.arrivedAt.clear();
    erp.keys.clear();
    const result = await load(`${url}/v1/messages`, headers);
    const loadEnd = Date.now();
    const started = Date.now() - result.seconds * 1000;
    await waitUntil(() => erp.arrivedAt.size >= result.answeredAt.size);
    const lastArrival = Math.max(...erp.arrivedAt.values());
    const lags = [...result.answeredAt]
      .filter(([id]) => erp.arrivedAt.has(id))
      .map(([id, at]) => (erp.arrivedAt.get(id) ?? at) - at)
      .sort((a, b) => a - b);
    const lagsDuringLoad = [...result.answeredAt]
      .filter(([id, at]) => at <= loadEnd && (erp.arrivedAt.get(id) ?? Number.POSITIVE_INFINITY) <= loadEnd + 1000)
      .map(([id, at]) => (erp.arrivedAt.get(id) ?? at) - at)
      .sort((a, b) => a - b);
    const honesty = {
      lost: [...result.answeredAt.keys()].filter((id) => !erp.arrivedAt.has(id)).length,
      twice: [...erp.keys.values()].filter((n) => n > 1).length,
    };
    const stages = await stageTimes(databaseUrl);
    return {
      result,
      deliveredPerSecond: erp.arrivedAt.size / ((lastArrival - started) / 1000),
      lags,
      lagsDuringLoad,
      honesty,
      stages,
      rssMb: peakRssMb(gw.child.pid ?? 0),
    };
  } finally {
    gw.child.kill('SIGTERM');
    await gw.exited;
    await erp.close();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-e2e-'));
  const pgDir = await mkdtemp(path.join(tmpdir(), 'gw-bench-e2e-pg-'));
  let databaseUrl = process.env.BENCH_DATABASE_URL;
  const pg = databaseUrl ? undefined : await startEmbedded(pgDir, createLogger('warn'));
  databaseUrl ??= pg?.url ?? '';
  try {
    const bare = await bareRun(databaseUrl);
    const gw = await gatewayRun(databaseUrl, path.join(dir, 'gateway'));
    const rate = (r: LoadResult) => (DOCS - r.refused) / r.seconds;
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    const baseline = rate(bare);
    console.log(`e2e REST ${DOCS} JSON ASNs (2 KB), concurrency ${CONCURRENCY}`);
    console.log(
      `  baseline: bare Koa + grouped INSERT      ${baseline.toFixed(0)} req/s, p50/p99 ${ms(quantile(bare.latenciesMs, 0.5))} / ` +
        `${ms(quantile(bare.latenciesMs, 0.99))}${bare.refused ? `, ${bare.refused} refused` : ''}`,
    );
    console.log(
      `  gateway, to 202                           ${rate(gw.result).toFixed(0)} docs/s (${(rate(gw.result) / baseline).toFixed(2)}x), ` +
        `p50/p99 ${ms(quantile(gw.result.latenciesMs, 0.5))} / ${ms(quantile(gw.result.latenciesMs, 0.99))}` +
        `${gw.result.refused ? `, ${gw.result.refused} refused` : ''}`,
    );
    console.log(
      `  gateway, to delivered at the ERP          ${gw.deliveredPerSecond.toFixed(0)} docs/s (${(gw.deliveredPerSecond / baseline).toFixed(2)}x), ` +
        `lag p50/p99 ${ms(quantile(gw.lags, 0.5))} / ${ms(quantile(gw.lags, 0.99))} (during the load: p99 ${ms(quantile(gw.lagsDuringLoad, 0.99))})`,
    );
    console.log(`  stages: ${gw.stages}`);
    console.log(`  gateway peak RSS ${gw.rssMb.toFixed(0)} MB; honesty: ${gw.honesty.lost} lost, ${gw.honesty.twice} delivered twice`);
    if (gw.honesty.lost || gw.honesty.twice || gw.result.refused) process.exitCode = 1;
  } finally {
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(pgDir, { recursive: true, force: true });
  }
}

await main();
