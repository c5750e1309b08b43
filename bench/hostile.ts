/**
 * Hostile bodies through the interpretation step, the same message on this thread (`inline`, as
 * every message was interpreted before decision 0010) and in the worker pool (`pool`, the
 * gateway's default): peak RSS of the process (worker threads included), RSS after, the longest
 * event-loop block, the outcome. Each run is its own process on its own database.
 *
 * 1. 200,000 minimal 856 sets in one interchange (~9 MB): memory independent of the number of sets.
 * 2. A CSV of 1,000,000 columns (~7.9 MB) sent by a partner with two CSV profiles.
 * 3. A JSON invoice of 130,000 lines (~11 MB).
 *
 * BENCH_DATABASE_URL (a server where databases may be created) or an embedded PostgreSQL.
 * BENCH_HEAP_MB gives each run a main-thread heap limit (--max-old-space-size), as bench/x12.ts does;
 * INTERPRET_WORKER_MEMORY_MB the workers' (default 512).
 * BENCH_HOSTILE_CASES picks cases (`x12,csv,json`), BENCH_HOSTILE_MODES modes (`inline,pool`). Prints
 * one line per case and mode, then ratios.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { loadConfig } from '../src/config/load.js';
import { readSettings } from '../src/config/env.js';
import { createLogger } from '../src/observability/logger.js';
import { processBatch } from '../src/pipeline/process.js';
import { Receiver } from '../src/pipeline/receive.js';
import { connect, migrate, startEmbedded } from '../src/store/db.js';
import type { SourceFormat } from '../src/types.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const run = promisify(execFile);

interface Case {
  name: string;
  partner: string;
  format: SourceFormat;
  contentType: string;
  make(file: string): string;
}

const CASES: Case[] = [
  {
    name: 'x12',
    partner: 'acme-supply',
    format: 'x12',
    contentType: 'application/edi-x12',
    make(file) {
      const sets = 200_000;
      const parts = [
        'ISA*00*          *00*          *12*4405197800     *01*999999999      *111206*1719*U*00401*000000049*0*P*>~\n' +
          'GS*SH*4405197800*999999999*20111206*1045*49*X*004010~\n',
      ];
      for (let n = 1; n <= sets; n++) parts.push(`ST*856*${n}~BSN*00*${n}*20111206*1719~SE*3*${n}~\n`);
      parts.push(`GE*${sets}*49~\nIEA*1*000000049~\n`);
      writeFileSync(file, parts.join(''), 'latin1');
      return `${sets.toLocaleString('en')} minimal 856 sets`;
    },
  },
  {
    name: 'csv',
    partner: 'hansen-textil',
    format: 'csv',
    contentType: 'text/csv',
    make(file) {
      const columns = 1_000_000;
      const head = Array.from({ length: columns }, (_, i) => `c${i}`).join(';');
      writeFileSync(file, `${head}\n${'1;'.repeat(columns - 1)}1\n`, 'latin1');
      return `${columns.toLocaleString('en')} columns`;
    },
  },
  {
    name: 'json',
    partner: 'northwind',
    format: 'json',
    contentType: 'application/json',
    make(file) {
      const lines = 130_000;
      const items = Array.from({ length: lines }, (_, i) => ({ line: String(i + 1), sku: `NW-${i}`, quantity: 1, uom: 'EA', unitPrice: 1.5 }));
      writeFileSync(
        file,
        JSON.stringify({
          documentType: 'invoice',
          invoiceNumber: 'NW-BIG',
          issuedOn: '2026-11-21',
          purchaseOrder: 'PO-1',
          currency: 'usd',
          lines: items,
          total: lines * 1.5,
        }),
      );
      return `an invoice of ${lines.toLocaleString('en')} lines`;
    },
  },
];

/** Child process: store the file (`store`), or process it (`inline` | `pool`); prints one JSON line. */
async function child(mode: string, caseName: string, file: string, url: string): Promise<void> {
  const c = CASES.find((x) => x.name === caseName) as Case;
  const knex = connect(url, 4);
  const log = createLogger('silent');
  try {
    if (mode === 'store') {
      await migrate(knex);
      await new Receiver(knex, { maxBatch: 1, maxWaitMs: 0 }).receive({
        partnerId: c.partner,
        channel: 'rest',
        contentType: c.contentType,
        format: c.format,
        bytes: readFileSync(file),
      });
      console.log('{}');
      return;
    }
    const config = await loadConfig({
      partnersDir: path.join(REPO, 'partners'),
      mappingsDir: path.join(REPO, 'mappings'),
      env: { GATEWAY_DATA_DIR: path.join(tmpdir(), 'gw-bench-drop') },
    });
    const settings = readSettings(process.env);
    // Imported only here, so the same script measures a checkout from before the pool (inline only).
    const pool =
      mode === 'pool'
        ? new (await import('../src/pipeline/interpret-pool.js')).InterpretPool({
            timeoutMs: settings.interpret.timeoutMs,
            memoryMb: settings.interpret.memoryMb,
            log,
          })
        : undefined;
    const before = process.memoryUsage().rss / 2 ** 20;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const t0 = performance.now();
    await processBatch(knex, config, log, 1, pool);
    const seconds = (performance.now() - t0) / 1000;
    loop.disable();
    await pool?.close();
    const msg = await knex('messages').select('state', 'problems').where('direction', 'inbound').first();
    const docs = await knex('documents').count({ n: '*' }).first();
    (globalThis as { gc?: () => void }).gc?.();
    console.log(
      JSON.stringify({
        seconds,
        beforeMb: before,
        peakRssMb: process.resourceUsage().maxRSS / 1024,
        afterRssMb: process.memoryUsage().rss / 2 ** 20,
        maxBlockMs: loop.max / 1e6,
        state: msg?.state,
        code: msg?.problems?.[0]?.code ?? null,
        documents: Number(docs?.n),
      }),
    );
  } finally {
    await knex.destroy();
  }
}

async function node(args: string[]): Promise<Record<string, unknown>> {
  const heap = process.env.BENCH_HEAP_MB ? [`--max-old-space-size=${process.env.BENCH_HEAP_MB}`] : [];
  const { stdout } = await run(process.execPath, [...heap, '--expose-gc', '--import', 'tsx', SELF, ...args], { cwd: REPO, maxBuffer: 1 << 20 }).catch(
    (err: Error & { stderr?: string }) => {
      // A run that dies (out of memory under BENCH_HEAP_MB) is a result too.
      const cause = /heap out of memory|Allocation failed/i.test(err.stderr ?? '') ? 'out of memory' : (err.stderr ?? err.message).split('\n').find(Boolean);
      return { stdout: JSON.stringify({ state: `process died: ${cause}` }) };
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop() as string) as Record<string, unknown>;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-hostile-'));
  // A folder of its own: run as root, PostgreSQL runs as the postgres user, which cannot reach into `dir` (mode 0700).
  const pgDir = await mkdtemp(path.join(tmpdir(), 'gw-bench-hostile-pg-'));
  const embedded = process.env.BENCH_DATABASE_URL ? undefined : await startEmbedded(pgDir, createLogger('warn'));
  const serverUrl = process.env.BENCH_DATABASE_URL ?? (embedded as { url: string }).url;
  const admin = connect(serverUrl, 1);
  const wanted = (process.env.BENCH_HOSTILE_CASES ?? 'x12,csv,json').split(',');
  try {
    for (const c of CASES.filter((x) => wanted.includes(x.name))) {
      const file = path.join(dir, `${c.name}.body`);
      const what = c.make(file);
      const results: Record<string, Record<string, unknown>> = {};
      for (const mode of (process.env.BENCH_HOSTILE_MODES ?? 'inline,pool').split(',')) {
        const db = `bench_hostile_${process.pid}_${c.name}_${mode}`;
        await admin.raw(`CREATE DATABASE ${db}`);
        const url = serverUrl.replace(/\/[^/]*$/, `/${db}`);
        try {
          await node(['store', c.name, file, url]);
          results[mode] = await node([mode, c.name, file, url]);
        } finally {
          await admin.raw(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
        }
        const r = results[mode] as Record<string, number | string>;
        console.log(
          `${c.name} (${what}, ${(readFileSync(file).length / 1e6).toFixed(1)} MB) ${mode.padEnd(6)}: ${r.state}${r.code ? ` ${r.code}` : ''}, ` +
            `${r.documents} document(s), ${Number(r.seconds).toFixed(1)} s, peak RSS ${Number(r.peakRssMb).toFixed(0)} MB, ` +
            `RSS after ${Number(r.afterRssMb).toFixed(0)} MB, longest event-loop block ${Number(r.maxBlockMs).toFixed(0)} ms`,
        );
      }
      const [a, b] = [results.inline as { peakRssMb: number; maxBlockMs: number }, results.pool as { peakRssMb: number; maxBlockMs: number }];
      if (a && b)
        console.log(`${c.name}: pool/inline peak RSS ${(b.peakRssMb / a.peakRssMb).toFixed(2)}x, longest block ${(b.maxBlockMs / a.maxBlockMs).toFixed(3)}x`);
    }
  } finally {
    await admin.destroy();
    await embedded?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(pgDir, { recursive: true, force: true });
  }
}

const [mode, caseName, file, url] = process.argv.slice(2);
if (mode && caseName && file && url) await child(mode, caseName, file, url);
else await main();
