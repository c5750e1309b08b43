/**
 * X12 benchmarks, each beside node-x12 on the same bytes in the same run:
 *
 * 1. A large 856 interchange (BENCH_X12_MB, default 100 MB: one interchange of ~1 KB ship notices)
 *    processed by the real pipeline (stored in an embedded PostgreSQL, read back in slices, split
 *    into transaction sets, mapped, validated, documents and deliveries written): MB/s, peak RSS,
 *    longest event-loop block. Baseline: node-x12's streaming parser over the same file (its parse()
 *    builds the whole tree and runs out of memory at this size). Each run is its own process, so
 *    peak RSS is that run's alone.
 * 2. 10,000 small 810 invoices (one interchange each): documents/s through interpretation against
 *    node-x12's parse() of the same bytes.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import x12 from 'node-x12';
import { loadConfig } from '../src/config/load.js';
import { X12Reader } from '../src/formats/x12/reader.js';
import { createLogger } from '../src/observability/logger.js';
import { interpret } from '../src/pipeline/interpret.js';
import { processBatch } from '../src/pipeline/process.js';
import { Receiver } from '../src/pipeline/receive.js';
import { connect, migrate, startEmbedded } from '../src/store/db.js';
import { opsPerSecond } from './lib.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const soi = readFileSync(path.join(REPO, 'mappings/acme-supply/samples/856-004060-SOI.edi'), 'latin1');

const config = () =>
  loadConfig({
    partnersDir: path.join(REPO, 'partners'),
    mappingsDir: path.join(REPO, 'mappings'),
    env: { GATEWAY_DATA_DIR: path.join(tmpdir(), 'gw-bench-drop') },
  });

/** One interchange of `mb` megabytes: the demo 856 set repeated with its own ST02 and shipment id. */
function generate856(mb: number, file: string): number {
  const lines = soi.split('\n').filter(Boolean);
  const isa = lines[0] as string;
  const gs = lines[1] as string;
  const body = lines.slice(2, lines.indexOf(lines.find((l) => l.startsWith('GE*')) as string));
  const parts: string[] = [`${isa}\n${gs}\n`];
  let size = parts[0]?.length ?? 0;
  let n = 0;
  while (size < mb * 1e6) {
    n++;
    const st = String(n).padStart(9, '0');
    const renumber = (line: string) => line.replace('ST*856*0008', `ST*856*${st}`).replace('SE*31*0008', `SE*31*${st}`).replace('BSN*14*829716', `BSN*14*${n}`);
    const set = `${body.map(renumber).join('\n')}\n`;
    parts.push(set);
    size += set.length;
  }
  parts.push(`GE*${n}*49~\nIEA*1*000000049~\n`);
  writeFileSync(file, parts.join(''), 'latin1');
  return n;
}

function mem(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Child-process modes: each prints one JSON line. */
async function child(mode: string, file: string): Promise<void> {
  const started = performance.now();
  if (mode === 'node-x12-stream') {
    let segments = 0;
    await new Promise<void>((resolve, reject) => {
      const parser = new x12.X12Parser(false);
      parser.on('data', () => segments++);
      parser.on('end', resolve);
      parser.on('error', reject);
      createReadStream(file).pipe(parser);
    });
    console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssMb: mem(), segments }));
    return;
  }
  if (mode === 'reader') {
    const reader = new X12Reader();
    let sets = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) for (const ev of reader.push(chunk as Buffer)) if (ev.kind === 'set') sets++;
    reader.end();
    console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssMb: mem(), sets }));
    return;
  }
  // The pipeline, on the database the parent started: `store` receives the file as the REST door
  // does (whole body in memory); `process` is the interpretation worker, measured on its own.
  const log = createLogger('warn');
  const knex = connect(process.env.BENCH_PG_URL as string, 4);
  try {
    if (mode === 'store') {
      await migrate(knex);
      const bytes = readFileSync(file);
      await new Receiver(knex, { maxBatch: 1, maxWaitMs: 0 }).receive({
        partnerId: 'acme-supply',
        channel: 'rest',
        contentType: 'application/edi-x12',
        format: 'x12',
        bytes,
      });
      console.log(JSON.stringify({ seconds: (performance.now() - started) / 1000, peakRssMb: mem() }));
      return;
    }
    const cfg = await config();
    const size = (await knex('messages').select('size_bytes').first())?.size_bytes as number;
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const t0 = performance.now();
    await processBatch(knex, cfg, log, 1);
    const seconds = (performance.now() - t0) / 1000;
    loop.disable();
    const docs = await knex('documents').count({ n: '*' }).where('state', 'accepted').first();
    const acks = await knex('messages').select('size_bytes').where({ direction: 'outbound' }).first();
    console.log(
      JSON.stringify({
        seconds,
        mbPerSecond: size / 1e6 / seconds,
        peakRssMb: mem(),
        maxBlockMs: loop.max / 1e6,
        documents: Number(docs?.n),
        ackBytes: acks?.size_bytes,
      }),
    );
  } finally {
    await knex.destroy();
  }
}

/**
 * V8 heap limit of each measured process (all alike, baseline included). V8 grows its heap lazily
 * when memory is plentiful, so peak RSS says more with a limit: a run that finishes under it holds
 * no more than that.
 */
const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? 192);

function run(mode: string, file: string, env: Record<string, string> = {}): Record<string, number> {
  // BENCH_CPU_PROF=<dir>: the pipeline's process writes a CPU profile there (node --cpu-prof).
  const profile = mode === 'process' && process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const out = execFileSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, ...profile, '--import', 'tsx', SELF, mode, file], {
    cwd: REPO,
    encoding: 'utf8',
    maxBuffer: 1 << 20,
    env: { ...process.env, ...env },
  });
  return JSON.parse(out.trim().split('\n').pop() as string) as Record<string, number>;
}

async function main(): Promise<void> {
  const mb = Number(process.env.BENCH_X12_MB ?? 100);
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-856-'));
  const file = path.join(dir, 'large.856');
  try {
    const sets = generate856(mb, file);
    const bytes = readFileSync(file).length / 1e6;
    console.log(
      `large 856: ${bytes.toFixed(1)} MB, ${sets} transaction sets in one interchange; each run in its own process with --max-old-space-size=${HEAP_MB}`,
    );
    const base = run('node-x12-stream', file);
    const reader = run('reader', file);
    const pgDir = await mkdtemp(path.join(tmpdir(), 'gw-bench-pg-'));
    const pg = await startEmbedded(pgDir, createLogger('warn'));
    let store: Record<string, number>;
    let pipeline: Record<string, number>;
    try {
      store = run('store', file, { BENCH_PG_URL: pg.url });
      pipeline = run('process', file, { BENCH_PG_URL: pg.url });
    } finally {
      await pg.stop();
      await rm(pgDir, { recursive: true, force: true });
    }
    console.log(`large 856 receive (whole body in memory, as the REST door): peak RSS ${store.peakRssMb?.toFixed(0)} MB, ${store.seconds?.toFixed(1)} s`);
    console.log(`large 856 baseline node-x12 stream parse:   ${(bytes / (base.seconds ?? 1)).toFixed(1)} MB/s, peak RSS ${base.peakRssMb?.toFixed(0)} MB`);
    console.log(
      `large 856 gateway reader (sets, no mapping): ${(bytes / (reader.seconds ?? 1)).toFixed(1)} MB/s, peak RSS ${reader.peakRssMb?.toFixed(0)} MB   ` +
        `ratio ${((base.seconds ?? 1) / (reader.seconds ?? 1)).toFixed(2)}x`,
    );
    console.log(
      `large 856 gateway pipeline (store, read back, map, validate, write ${pipeline.documents} documents): ${pipeline.mbPerSecond?.toFixed(2)} MB/s, ` +
        `peak RSS ${pipeline.peakRssMb?.toFixed(0)} MB (${((pipeline.peakRssMb ?? 0) / bytes).toFixed(2)}x the file), ` +
        `longest event-loop block ${pipeline.maxBlockMs?.toFixed(0)} ms, 997 of ${((pipeline.ackBytes ?? 0) / 1e6).toFixed(1)} MB   ` +
        `ratio ${((base.seconds ?? 1) / (pipeline.seconds ?? 1)).toFixed(2)}x of the baseline's speed`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  // 10,000 small 810s, one interchange each.
  const cfg = await config();
  const partner = cfg.partners.get('acme-supply');
  if (!partner) throw new Error('demo partner missing');
  const invoice = readFileSync(path.join(REPO, 'mappings/acme-supply/samples/810-and-850-two-groups.edi'));
  const one = invoice.toString('latin1');
  const small = Array.from({ length: 10_000 }, (_, i) => Buffer.from(one.replace(/\*000000020\*/, `*${String(i).padStart(9, '0')}*`), 'latin1'));
  let i = 0;
  const bare = opsPerSecond(() => new x12.X12Parser(false).parse(small[i++ % small.length]?.toString('latin1') ?? ''));
  i = 0;
  const full = opsPerSecond(() => interpret(small[i++ % small.length] as Buffer, 'x12', partner, cfg));
  console.log(`small 810s baseline node-x12 parse():       ${(bare * 2).toFixed(0)} invoices/s`);
  console.log(`small 810s gateway read + map + validate:    ${(full * 2).toFixed(0)} invoices/s   ratio ${(full / bare).toFixed(2)}x`);
}

const [mode, file] = process.argv.slice(2);
if (mode && file) await child(mode, file);
else await main();
