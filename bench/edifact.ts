/**
 * The EDIFACT reader on a 9 MB-class interchange, each run in its own process so that its peak RSS
 * is its own (as an interpretation worker reading the message would hold it):
 *
 * - streamed: pushed in 64 KiB slices, as the pipeline does (decision 0047), the messages dropped
 *   once read — in one interchange of many DESADVs, and in one DESADV of as many LIN groups;
 * - whole: the same bytes read into one tree with every message kept (what the pipeline did
 *   before decision 0047: the interchange held whole until its last message was read);
 * - baseline: the X12 reader on X12 856 interchanges of the same size, streamed the same way;
 * - mapping: one DESADV of N and of 2N lines read and mapped to one canonical ASN with the demo
 *   partner's profile; the time ratio says whether mapping grows with the lines (2x) or faster
 *   (4x: every line searching the others, as before the lookups were remembered).
 *
 * `BENCH_EDIFACT_MB` sets the size (default 9), `BENCH_HEAP_MB` the V8 heap limit of each run (default 512).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEdifactInterchanges } from '../src/formats/edifact/parse.js';
import { EdifactReader } from '../src/formats/edifact/stream.js';
import { X12Reader } from '../src/formats/x12/reader.js';
import type { GatewayConfig } from '../src/config/load.js';
import { interpret } from '../src/pipeline/interpret.js';
import type { PartnerProfile } from '../src/types.js';
import { repoConfig } from '../test/helpers/config.js';
import { largeDesadv } from '../test/helpers/edifact-large.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const MB = Number(process.env.BENCH_EDIFACT_MB ?? 9);
const HEAP_MB = Number(process.env.BENCH_HEAP_MB ?? 512);
const SLICE = 64 << 10;
/** Lines of the smaller DESADV the mapping runs take (`BENCH_EDIFACT_MAP_LINES`). */
const MAP_LINES = Number(process.env.BENCH_EDIFACT_MAP_LINES ?? 4000);

interface Run {
  seconds: number;
  peakRssMb: number;
  /** Largest V8 heap in use seen after a slice (streamed) or with the tree read (whole). */
  peakHeapMb: number;
  messages: number;
}

const heapMb = () => process.memoryUsage().heapUsed / 2 ** 20;

/** Pushes the file in slices through `push`; returns the events counted by `count`. */
function stream<E>(bytes: Buffer, push: (b: Uint8Array) => E[], end: () => E[], count: (e: E) => boolean): Omit<Run, 'seconds' | 'peakRssMb'> {
  let messages = 0;
  let peakHeapMb = 0;
  for (let at = 0; at < bytes.length; at += SLICE) {
    for (const ev of push(bytes.subarray(at, at + SLICE))) if (count(ev)) messages++;
    peakHeapMb = Math.max(peakHeapMb, heapMb());
  }
  for (const ev of end()) if (count(ev)) messages++;
  return { messages, peakHeapMb };
}

async function child(mode: string, file: string): Promise<void> {
  const bytes = readFileSync(file);
  const config = mode === 'edifact-map' ? await repoConfig() : undefined;
  const started = performance.now();
  let result: Omit<Run, 'seconds' | 'peakRssMb'>;
  if (mode === 'edifact-stream') {
    const reader = new EdifactReader();
    result = stream(
      bytes,
      (b) => reader.push(b),
      () => reader.end(),
      (e) => e.kind === 'message',
    );
  } else if (mode === 'edifact-whole') {
    const interchanges = parseEdifactInterchanges(bytes);
    result = { messages: interchanges.reduce((n, ic) => n + ic.messages.length, 0), peakHeapMb: heapMb() };
  } else if (mode === 'edifact-map') {
    result = mapWhole(bytes, config as GatewayConfig);
  } else {
    const reader = new X12Reader();
    result = stream(
      bytes,
      (b) => reader.push(b),
      () => reader.end(),
      (e) => e.kind === 'set',
    );
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ ...result, seconds, peakRssMb: process.resourceUsage().maxRSS / 1024 }));
}

/** Reads and maps the payload as the demo EDIFACT partner's (nordlicht's) messages. */
function mapWhole(bytes: Buffer, config: GatewayConfig): Omit<Run, 'seconds' | 'peakRssMb'> {
  const partner = config.partners.get('nordlicht') as PartnerProfile;
  const result = interpret(bytes, 'edifact', partner, config);
  if (result.problems.length || result.documents.some((d) => d.problems.length)) throw new Error(JSON.stringify(result.problems));
  return { messages: result.documents.length, peakHeapMb: heapMb() };
}

function run(mode: string, file: string): Run {
  const out = execFileSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--import', 'tsx', SELF, mode, file], { cwd: REPO, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Run;
}

/** Interchanges of the demo 856 one after the other, with their own ISA13, up to `bytes`. */
function x12File(bytes: number): string {
  const sample = readFileSync(path.join(REPO, 'mappings/acme-supply/samples/856-004060-SOI.edi'), 'latin1');
  const parts: string[] = [];
  for (let n = 1, size = 0; size < bytes; n++) {
    const ic = sample.replaceAll('000000049', String(n).padStart(9, '0'));
    parts.push(ic);
    size += ic.length;
  }
  return parts.join('');
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-bench-edifact-'));
  try {
    // One DESADV of 20 lines is about 2.9 KB; one of `lines` lines about 130 bytes a line.
    const files = {
      many: path.join(dir, 'many.edi'),
      one: path.join(dir, 'one.edi'),
      x12: path.join(dir, 'x12.edi'),
      lines: path.join(dir, 'lines.edi'),
      twiceTheLines: path.join(dir, 'twice-the-lines.edi'),
    };
    writeFileSync(files.many, largeDesadv(Math.round((MB * 1e6) / 2870), 20), 'latin1');
    writeFileSync(files.one, largeDesadv(1, Math.round((MB * 1e6) / 131)), 'latin1');
    writeFileSync(files.x12, x12File(MB * 1e6), 'latin1');
    writeFileSync(files.lines, largeDesadv(1, MAP_LINES), 'latin1');
    writeFileSync(files.twiceTheLines, largeDesadv(1, 2 * MAP_LINES), 'latin1');
    const x12 = run('x12-stream', files.x12);
    const rows: [string, Run][] = [
      ['X12 reader, 856 interchanges, streamed (baseline)', x12],
      ['EDIFACT reader, many DESADVs, streamed', run('edifact-stream', files.many)],
      ['EDIFACT reader, many DESADVs, whole tree', run('edifact-whole', files.many)],
      ['EDIFACT reader, one DESADV of many LINs, streamed', run('edifact-stream', files.one)],
      ['EDIFACT reader, one DESADV of many LINs, whole tree', run('edifact-whole', files.one)],
    ];
    const size = (f: string) => readFileSync(f).length / 1e6;
    console.log(`EDIFACT reader, ${size(files.many).toFixed(1)} MB interchanges (X12 baseline ${size(files.x12).toFixed(1)} MB), V8 heap limit ${HEAP_MB} MB:`);
    for (const [name, r] of rows)
      console.log(
        `  ${name.padEnd(52)} ${r.seconds.toFixed(2)} s (${(r.seconds / x12.seconds).toFixed(2)}x the X12 time), ` +
          `peak heap ${r.peakHeapMb.toFixed(0)} MB, peak RSS ${r.peakRssMb.toFixed(0)} MB, ${r.messages} message(s)`,
      );
    const [once, twice] = [run('edifact-map', files.lines), run('edifact-map', files.twiceTheLines)];
    console.log(
      `  mapping one DESADV of ${MAP_LINES} lines ${once.seconds.toFixed(2)} s, of ${2 * MAP_LINES} lines ${twice.seconds.toFixed(2)} s: ` +
        `${(twice.seconds / once.seconds).toFixed(2)}x for twice the lines (2x is linear)`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const [mode, file] = process.argv.slice(2);
if (mode && file) await child(mode, file);
else await main();
