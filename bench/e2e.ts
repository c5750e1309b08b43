/**
 * End to end, against a baseline in the same run. The real gateway process takes documents over
 * REST and delivers each over HTTP to a local ERP receiver; beside it, a bare Koa endpoint
 * (bench/bare-server.ts) only stores each body with grouped commits in the same database. Two
 * scenarios:
 * - JSON: ship notices of about 2 KB at concurrency 50 by the northwind key (rate limit raised);
 * - X12: 100 interchanges of 100 810 invoices each at concurrency 10 by the acme-supply key;
 * - SFTP: 1,000 X12 856 files put by OpenSSH's sftp, against OpenSSH's sshd (bench/e2e-sftp.ts).
 *
 * Prints requests/s to 202 and documents/s to delivered against the baseline (for X12: each body the
 * bare endpoint stores counts its 100 documents), p50/p99 to 202, the delivery lag (202 → the ERP
 * has the document) p50/p99, the stages from the store, the gateway's peak RSS. Checks its own
 * honesty: every document of every message answered 202 is delivered exactly once by idempotency
 * key, and none is lost.
 *
 * BENCH_E2E_DOCS (4000 JSON documents), BENCH_E2E_CONCURRENCY (50), BENCH_DATABASE_URL (a server where the bench makes its own database; else an
 * embedded server), BENCH_CPU_PROF (a folder for the gateway's CPU profile).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../src/observability/logger.js';
import { connect, startEmbedded } from '../src/store/db.js';
import { freePort } from '../src/store/embedded.js';
import { gatewayEnv, spawnGateway, writeTestPartners } from '../test/helpers/gateway-process.js';
import { ACME_KEY, NORTHWIND_KEY } from '../test/helpers/gateway.js';
import { sshKeygen, type SshIdentity } from '../test/helpers/sftp.js';
import { gatewaySeconds, SFTP_FILES, sftpPartner, sshdSeconds, writeFiles } from './e2e-sftp.js';

interface Scenario {
  name: string;
  partner: string;
  key: string;
  contentType: string;
  requests: number;
  /** Requests sent first to each side and not counted: both have loaded their code and warmed their connections. */
  warmUp: number;
  concurrency: number;
  documentsPerRequest: number;
  body(n: number): string;
}

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

const INVOICES_PER_INTERCHANGE = 100;
const sample810 = readFileSync(path.join(import.meta.dirname, '../mappings/acme-supply/samples/810-and-850-two-groups.edi'), 'latin1')
  .split(/~\r?\n?/)
  .filter(Boolean);

/** Interchange `n` (ISA13 and GS06 = n): one group of 100 810 invoices, each with its own invoice number. */
function invoiceInterchange(n: number): string {
  const control = String(n).padStart(9, '0');
  const isa = (sample810[0] as string).split('*');
  isa[13] = control;
  const gs = (sample810[1] as string).split('*');
  gs[6] = String(n);
  const st = sample810.findIndex((s) => s.startsWith('ST*810'));
  const body = sample810.slice(
    st + 1,
    sample810.findIndex((s, i) => i > st && s.startsWith('SE*')),
  );
  const sets = Array.from({ length: INVOICES_PER_INTERCHANGE }, (_, i) => {
    const setControl = String(i + 1).padStart(4, '0');
    const segments = body.map((s) => (s.startsWith('BIG*') ? s.replace(/^BIG\*(\d+)\*[^*]*/, `BIG*$1*B${n}-${i + 1}`) : s));
    return [`ST*810*${setControl}`, ...segments, `SE*${segments.length + 2}*${setControl}`];
  });
  return [isa.join('*'), gs.join('*'), ...sets.flat(), `GE*${INVOICES_PER_INTERCHANGE}*${n}`, `IEA*1*${control}`].join('~\n') + '~\n';
}

const DOCS = Number(process.env.BENCH_E2E_DOCS ?? 4000);
const SCENARIOS: Scenario[] = [
  {
    name: `JSON: ${DOCS} ship notices of 2 KB`,
    partner: 'northwind',
    key: NORTHWIND_KEY,
    contentType: 'application/json',
    requests: DOCS,
    warmUp: 200,
    concurrency: Number(process.env.BENCH_E2E_CONCURRENCY ?? 50),
    documentsPerRequest: 1,
    body: shipNotice,
  },
  {
    name: `X12: 100 interchanges of ${INVOICES_PER_INTERCHANGE} 810 invoices`,
    partner: 'acme-supply',
    key: ACME_KEY,
    contentType: 'application/edi-x12',
    requests: 100,
    warmUp: 5,
    concurrency: 10,
    documentsPerRequest: INVOICES_PER_INTERCHANGE,
    body: (n) => invoiceInterchange(n + 1),
  },
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

interface LoadResult {
  seconds: number;
  latenciesMs: number[];
  /** When each accepted message was answered (ms since the epoch), by message id. */
  answeredAt: Map<string, number>;
  refused: number;
}

/** Posts requests `from`…`from + count - 1` of the scenario, each with its own Idempotency-Key; counts what was not 202. */
async function load(url: string, s: Scenario, count: number, from: number, prefix: string): Promise<LoadResult> {
  let next = 0;
  let refused = 0;
  const latenciesMs: number[] = [];
  const answeredAt = new Map<string, number>();
  const headers = { authorization: `Bearer ${s.key}`, 'content-type': s.contentType };
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: s.concurrency }, async () => {
      for (let n = next++; n < count; n = next++) {
        const start = performance.now();
        const res = await fetch(url, { method: 'POST', headers: { ...headers, 'idempotency-key': `${prefix}-${from + n}` }, body: s.body(from + n) });
        const body = (await res.json()) as { messageId?: string };
        latenciesMs.push(performance.now() - start);
        if (res.status !== 202) refused++;
        else if (body.messageId) answeredAt.set(body.messageId, Date.now());
      }
    }),
  );
  return { seconds: (performance.now() - t0) / 1000, latenciesMs: latenciesMs.sort((a, b) => a - b), answeredAt, refused };
}

/** The ERP: when each document (idempotency key) first arrived and of which message, and how often each key came. */
async function startErp() {
  const times = new Map<string, number>();
  const arrived = new Map<string, { messageId: string; at: number }>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      times.set(key, (times.get(key) ?? 0) + 1);
      const { messageId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messageId: string };
      if (!arrived.has(key)) arrived.set(key, { messageId, at: Date.now() });
      res.statusCode = 202;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/erp/inbound`;
  const reset = () => (times.clear(), arrived.clear());
  return { url, times, arrived, reset, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** The bare baseline as its own process, like the gateway: each scenario's bodies, stored. */
async function bareRun(databaseUrl: string): Promise<LoadResult[]> {
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
    const results: LoadResult[] = [];
    for (const s of SCENARIOS) {
      await load(`http://127.0.0.1:${port}/`, s, s.warmUp, 0, 'warm');
      results.push(await load(`http://127.0.0.1:${port}/`, s, s.requests, s.warmUp, 'bench'));
    }
    return results;
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

/** Where the time went, from the store, for the scenario's counted messages: received → interpreted → delivered. */
async function stageTimes(databaseUrl: string, partner: string): Promise<string> {
  const knex = connect(databaseUrl, 1);
  const epochMs = (expr: string) => `extract(epoch FROM ${expr}) * 1000`;
  const pct = (q: number, expr: string) => `percentile_cont(${q}) WITHIN GROUP (ORDER BY ${epochMs(expr)})`;
  try {
    const { rows } = await knex.raw<{ rows: Record<string, number>[] }>(
      `SELECT ${pct(0.5, 'm.processed_at - m.received_at')} AS interpret_p50, ${pct(0.99, 'm.processed_at - m.received_at')} AS interpret_p99,
              ${pct(0.5, 'd.delivered_at - m.processed_at')} AS deliver_p50, ${pct(0.99, 'd.delivered_at - m.processed_at')} AS deliver_p99,
              ${epochMs('max(m.received_at) - min(m.received_at)')} AS receiving_ms, ${epochMs('max(m.processed_at) - min(m.processed_at)')} AS interpreting_ms
         FROM messages m JOIN deliveries d ON d.message_id = m.id
        WHERE m.partner_id = ? AND d.target_id = 'erp-http' AND m.idempotency_key LIKE 'bench-%'`,
      [partner],
    );
    const r = rows[0] ?? {};
    const f = (v: number | undefined) => Number(v ?? Number.NaN).toFixed(0);
    return (
      `received → interpreted p50/p99 ${f(r.interpret_p50)} / ${f(r.interpret_p99)} ms; interpreted → delivered p50/p99 ` +
      `${f(r.deliver_p50)} / ${f(r.deliver_p99)} ms; receiving took ${f(r.receiving_ms)} ms, interpreting ${f(r.interpreting_ms)} ms`
    );
  } finally {
    await knex.destroy();
  }
}

type Erp = Awaited<ReturnType<typeof startErp>>;

/** CPU time used so far by one process (its threads included), and by the whole machine, in clock ticks. */
function cpuTicks(pid: number): { process: number; busy: number; total: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const machine = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const idle = (machine[3] ?? 0) + (machine[4] ?? 0);
  const total = machine.reduce((a, b) => a + b, 0);
  // utime and stime are the 12th and 13th fields after the command name.
  return { process: Number(fields[11]) + Number(fields[12]), busy: total - idle, total };
}

/** What bounds a run: the cores the gateway kept busy, and how busy the machine was, between two readings. */
function cpuUse(before: ReturnType<typeof cpuTicks>, after: ReturnType<typeof cpuTicks>, seconds: number): string {
  const cores = os.cpus().length;
  const gatewayCores = (after.process - before.process) / 100 / seconds;
  const machineBusy = (after.busy - before.busy) / (after.total - before.total);
  return `gateway process ${gatewayCores.toFixed(2)} of ${cores} cores, machine ${(machineBusy * 100).toFixed(0)} % busy`;
}

/** One scenario against the running gateway: warm up, then the counted load, then wait for every document at the ERP. */
async function gatewayScenario(url: string, erp: Erp, databaseUrl: string, s: Scenario, pid: number) {
  erp.reset();
  const warm = await load(`${url}/v1/messages`, s, s.warmUp, 0, 'warm');
  await waitUntil(() => erp.arrived.size >= warm.answeredAt.size * s.documentsPerRequest);
  erp.reset();
  const cpuBefore = cpuTicks(pid);
  const result = await load(`${url}/v1/messages`, s, s.requests, s.warmUp, 'bench');
  const counted = () => [...erp.arrived.values()].filter((a) => result.answeredAt.has(a.messageId)).length;
  const started = Date.now() - result.seconds * 1000;
  const expected = result.answeredAt.size * s.documentsPerRequest;
  await waitUntil(() => erp.arrived.size >= expected && counted() >= expected);
  const arrivals = [...erp.arrived.values()].filter((a) => result.answeredAt.has(a.messageId));
  const lags = arrivals.map((a) => a.at - (result.answeredAt.get(a.messageId) ?? a.at)).sort((a, b) => a - b);
  const lastArrival = Math.max(...arrivals.map((a) => a.at));
  const cpu = cpuUse(cpuBefore, cpuTicks(pid), (Date.now() - started) / 1000);
  return {
    cpu,
    result,
    deliveredPerSecond: arrivals.length / ((lastArrival - started) / 1000),
    lags,
    honesty: { lost: expected - arrivals.length, twice: [...erp.times.values()].filter((n) => n > 1).length },
    stages: await stageTimes(databaseUrl, s.partner),
  };
}

/** The SFTP scenario against the running gateway: the put's files/s, and the ship notices delivered. */
async function gatewaySftp(erp: Erp, dataDir: string, port: number, key: SshIdentity, files: string) {
  erp.reset();
  const seconds = await gatewaySeconds(dataDir, port, key, files);
  const started = Date.now() - seconds * 1000;
  await waitUntil(() => erp.arrived.size >= SFTP_FILES);
  const lastArrival = Math.max(...[...erp.arrived.values()].map((a) => a.at));
  return {
    seconds,
    deliveredPerSecond: erp.arrived.size / ((lastArrival - started) / 1000),
    drainMs: lastArrival - (started + seconds * 1000),
    honesty: { lost: SFTP_FILES - erp.arrived.size, twice: [...erp.times.values()].filter((n) => n > 1).length },
  };
}

async function gatewayRun(databaseUrl: string, dataDir: string, key: SshIdentity, files: string) {
  const erp = await startErp();
  // The scenarios deliver over HTTP only: the test partners' second route, a file drop for ship notices, is left out.
  const unlimited = (y: string) =>
    y
      .replace('limits: { maxBytes: 65536 }', 'limits: { maxBytes: 10485760, requestsPerMinute: 1000000 }')
      .replace(/\n {2}- types: \[asn\]\n {4}target: \{ id: erp-drop[^\n]*/, '');
  const partnersDir = await writeTestPartners(dataDir, erp.url, (y) =>
    /^id: northwind\n/.test(y) ? unlimited(y) : /^id: acme-supply\n/.test(y) ? sftpPartner(key)(unlimited(y)) : y,
  );
  // BENCH_CPU_PROF=<dir>: the gateway writes a CPU profile there when it stops (node --cpu-prof).
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  const sftpPort = await freePort();
  const env = { DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', POLL_MS: '500', SFTP: 'on', SFTP_PORT: String(sftpPort) };
  const gw = spawnGateway(gatewayEnv(dataDir, partnersDir, env), 'cli', profile);
  try {
    const url = await gw.url();
    await gw.waitForLog('SFTP listening');
    const runs = [];
    for (const s of SCENARIOS) runs.push(await gatewayScenario(url, erp, databaseUrl, s, gw.child.pid ?? 0));
    const sftp = await gatewaySftp(erp, dataDir, sftpPort, key, files);
    return { runs, sftp, rssMb: peakRssMb(gw.child.pid ?? 0) };
  } finally {
    gw.child.kill('SIGTERM');
    await gw.exited;
    await erp.close();
  }
}

function report(s: Scenario, bare: LoadResult, gw: Awaited<ReturnType<typeof gatewayScenario>>): boolean {
  const rate = (r: LoadResult) => (s.requests - r.refused) / r.seconds;
  const ms = (v: number) => `${v.toFixed(0)} ms`;
  const p = (r: LoadResult) => `p50/p99 ${ms(quantile(r.latenciesMs, 0.5))} / ${ms(quantile(r.latenciesMs, 0.99))}${r.refused ? `, ${r.refused} refused` : ''}`;
  const baseline = rate(bare);
  const baselineDocs = baseline * s.documentsPerRequest;
  console.log(`e2e REST ${s.name}, concurrency ${s.concurrency}`);
  console.log(`  baseline: bare Koa + grouped INSERT   ${baseline.toFixed(0)} req/s (${baselineDocs.toFixed(0)} documents/s), ${p(bare)}`);
  console.log(`  gateway, to 202                        ${rate(gw.result).toFixed(0)} req/s (${(rate(gw.result) / baseline).toFixed(2)}x), ${p(gw.result)}`);
  console.log(
    `  gateway, to delivered at the ERP       ${gw.deliveredPerSecond.toFixed(0)} documents/s (${(gw.deliveredPerSecond / baselineDocs).toFixed(2)}x), ` +
      `lag p50/p99 ${ms(quantile(gw.lags, 0.5))} / ${ms(quantile(gw.lags, 0.99))}`,
  );
  console.log(`  stages: ${gw.stages}`);
  console.log(`  CPU from the load's start to the last delivery: ${gw.cpu}`);
  console.log(`  honesty: ${gw.honesty.lost} lost, ${gw.honesty.twice} delivered twice`);
  return gw.honesty.lost === 0 && gw.honesty.twice === 0 && gw.result.refused === 0;
}

function reportSftp(sshdSeconds: number | undefined, gw: Awaited<ReturnType<typeof gatewaySftp>>): boolean {
  const filesPerSecond = SFTP_FILES / gw.seconds;
  const baseline = sshdSeconds ? SFTP_FILES / sshdSeconds : undefined;
  const ratio = (v: number) => (baseline ? ` (${(v / baseline).toFixed(2)}x)` : '');
  console.log(`e2e SFTP: ${SFTP_FILES} X12 856 files, one OpenSSH sftp session (put *.edi)`);
  console.log(`  baseline: OpenSSH sshd to disk           ${baseline ? `${baseline.toFixed(0)} files/s` : 'not measured (no /usr/sbin/sshd)'}`);
  console.log(`  gateway, every close answered           ${filesPerSecond.toFixed(0)} files/s${ratio(filesPerSecond)}`);
  console.log(
    `  gateway, to delivered at the ERP        ${gw.deliveredPerSecond.toFixed(0)} documents/s${ratio(gw.deliveredPerSecond)}, ` +
      `the last ${gw.drainMs.toFixed(0)} ms after the put ended`,
  );
  console.log(`  honesty: ${gw.honesty.lost} lost, ${gw.honesty.twice} delivered twice`);
  return gw.honesty.lost === 0 && gw.honesty.twice === 0;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-e2e-'));
  const pgDir = await mkdtemp(path.join(tmpdir(), 'gw-bench-e2e-pg-'));
  const pg = process.env.BENCH_DATABASE_URL ? undefined : await startEmbedded(pgDir, createLogger('warn'));
  // A database of its own on the server: one kept from an earlier run would take this run's
  // documents (the same Idempotency-Keys and interchange control numbers) for duplicates.
  const serverUrl = process.env.BENCH_DATABASE_URL ?? pg?.url ?? '';
  const name = `bench_e2e_${process.pid}`;
  const admin = connect(serverUrl, 1);
  await admin.raw(`CREATE DATABASE ${name}`);
  const databaseUrl = serverUrl.replace(/\/[^/]*$/, `/${name}`);
  try {
    const key = await sshKeygen(dir, 'bench-sftp');
    const files = writeFiles(dir);
    const bare = await bareRun(databaseUrl);
    const sshd = await sshdSeconds(dir, key, files);
    const gw = await gatewayRun(databaseUrl, path.join(dir, 'gateway'), key, files);
    type Run = Awaited<ReturnType<typeof gatewayScenario>>;
    const honest = SCENARIOS.map((s, i) => report(s, bare[i] as LoadResult, gw.runs[i] as Run));
    honest.push(reportSftp(sshd, gw.sftp));
    console.log(`  gateway peak RSS over all scenarios ${gw.rssMb.toFixed(0)} MB`);
    if (honest.includes(false)) process.exitCode = 1;
  } finally {
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.destroy();
    await pg?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(pgDir, { recursive: true, force: true });
  }
}

await main();
