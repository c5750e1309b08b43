import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';
import type { EdifactStream, InterpretStream, Interpreter, ReadyInterpretation, StreamFormat, WholeJob, X12Stream } from './interpreter.js';

/** Requests to a worker (interpret-worker.ts); every one but `config` gets one answer. */
export type ToWorker =
  | { type: 'config'; partners: GatewayConfig['partners']; mappings: GatewayConfig['mappings'] }
  | ({ type: 'whole'; partnerId: string } & WholeJob)
  | { type: 'stream-open'; format: StreamFormat; partnerId: string }
  | { type: 'stream-push'; bytes: Uint8Array }
  | { type: 'stream-end' };

type FromWorker = { ready: true } | { ok: true; result: unknown } | { ok: false; error: { code?: string; message: string; stack?: string } };

export interface PoolOptions {
  /** Worker threads; default one fewer than the cores (at least one): the event loop keeps a core. */
  size?: number;
  /** Worker time one message may take (summed over its X12 slices) before its worker is stopped. */
  timeoutMs: number;
  /** V8 old-generation heap of each worker: what one message may hold. */
  memoryMb: number;
  log: Logger;
}

export function defaultPoolSize(): number {
  return Math.max(1, availableParallelism() - 1);
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_FILE = new URL(`./interpret-worker${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);

let tsxApi: string | undefined;

/** The URL of tsx's ESM API (an eval'd worker resolves bare names from the working directory). */
function tsxEsmApi(): string {
  const pkgFile = createRequire(import.meta.url).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(path.join(path.dirname(pkgFile), pkg.exports['./esm/api']?.import.default ?? './dist/esm/api/index.mjs')).href;
}

/**
 * Starts a worker on WORKER_FILE. Run from the TypeScript sources (tests, `tsx`), the worker first
 * registers tsx itself: loader hooks of the main thread do not reach worker threads in Node 20.
 */
function startWorker(options: WorkerOptions): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_FILE, options);
  tsxApi ??= tsxEsmApi();
  const tsx = tsxApi;
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_FILE.href)}); })`, {
    ...options,
    eval: true,
  });
}

/** One worker thread and the request it is answering. */
class Slot {
  /** Started on the first request, and again on the first request after it was stopped. */
  private worker: Worker | undefined;
  /** Settles when the worker has loaded its modules (or failed to): start-up is not message time. */
  private started: Promise<void> = Promise.resolve();
  /** The configuration the worker holds (see InterpretPool.versionOf). */
  configVersion = -1;
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout } | undefined;
  /** Counts replacements: a stream that lived on an earlier worker is broken. */
  generation = 0;

  constructor(private readonly opts: PoolOptions) {}

  /** Starts the worker now, unless it runs. */
  warm(): void {
    if (!this.worker) this.spawn();
  }

  private spawn(): Worker {
    const worker = startWorker({
      resourceLimits: { maxOldGenerationSizeMb: this.opts.memoryMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    let ready!: () => void;
    this.started = new Promise((resolve) => (ready = resolve));
    worker.on('message', (msg: FromWorker) => {
      if ('ready' in msg) return ready();
      const p = this.settle();
      if (!p) return;
      if (msg.ok) p.resolve(msg.result);
      else p.reject(Object.assign(new Error(msg.error.message), msg.error.stack ? { stack: msg.error.stack } : {}));
    });
    worker.on('error', (err: Error & { code?: string }) => {
      ready();
      if (this.worker !== worker) return;
      this.opts.log.error({ err: err.message, code: err.code }, 'interpretation worker failed; replacing it');
      const memory = err.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.replace(
        new GatewayError(
          'GW_INTERPRET_RESOURCES',
          memory
            ? `Interpreting the message needed more than the ${this.opts.memoryMb} MB a worker may hold (INTERPRET_WORKER_MEMORY_MB); ` +
                `it was stopped. The raw message is kept: raise the limit if the file is legitimate, then replay it.`
            : `The interpretation worker stopped (${err.message}); it was replaced. The raw message is kept; replay it.`,
        ),
      );
    });
    worker.on('exit', (code) => {
      ready();
      if (this.worker === worker)
        this.replace(
          new GatewayError('GW_INTERPRET_RESOURCES', `The interpretation worker exited (code ${code}); it was replaced. The raw message is kept; replay it.`),
        );
    });
    this.worker = worker;
    return worker;
  }

  private settle() {
    const p = this.pending;
    if (p) clearTimeout(p.timer);
    this.pending = undefined;
    return p;
  }

  /** Stops the current worker (whatever it is doing) and fails its request; the next request starts a fresh one. */
  replace(err: Error): void {
    const old = this.worker;
    this.worker = undefined;
    this.generation++;
    this.configVersion = -1;
    void old?.terminate();
    this.settle()?.reject(err);
  }

  /** Posts a request and waits for its answer at most `budgetMs` (counted once the worker is up). */
  async request(msg: ToWorker, budgetMs: number): Promise<unknown> {
    const worker = this.worker ?? this.spawn();
    await this.started;
    if (this.worker !== worker)
      throw new GatewayError('GW_INTERPRET_RESOURCES', 'The interpretation worker could not start; the raw message is kept, replay it.');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.replace(
            new GatewayError(
              'GW_INTERPRET_TIMEOUT',
              `Interpreting the message took longer than its budget of ${this.opts.timeoutMs} ms (INTERPRET_TIMEOUT_MS); it ` +
                `was stopped. The raw message is kept: look at the file, raise the budget if it is legitimate, then replay it.`,
            ),
          ),
        Math.max(1, budgetMs),
      );
      this.pending = { resolve, reject, timer };
      worker.postMessage(msg);
    });
  }

  /** A copy of the bytes a view shows: posting a view would copy its whole underlying buffer. */
  static own(bytes: Uint8Array): Uint8Array {
    return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
  }

  post(msg: ToWorker): void {
    (this.worker ?? this.spawn()).postMessage(msg);
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.generation++;
    this.settle()?.reject(new Error('the interpretation pool is closing'));
    await w?.terminate();
  }
}

/**
 * Worker threads that parse, map and validate message bodies, so that no body holds the event
 * loop (decision 0010). A message takes one worker for its whole interpretation; the database work
 * stays on the calling thread. A worker that runs past the time budget or out of memory is
 * replaced and its message fails with GW_INTERPRET_TIMEOUT / GW_INTERPRET_RESOURCES.
 */
export class InterpretPool implements Interpreter {
  private readonly slots: Slot[];
  private readonly idle: Slot[];
  private readonly waiting: ((slot: Slot) => void)[] = [];
  private readonly versions = new WeakMap<GatewayConfig, number>();
  private nextVersion = 0;
  private closed = false;

  constructor(private readonly opts: PoolOptions) {
    this.slots = Array.from({ length: opts.size ?? defaultPoolSize() }, () => new Slot(opts));
    this.idle = [...this.slots];
  }

  get size(): number {
    return this.slots.length;
  }

  /** Starts every worker now, so that the first messages do not wait for the workers to load their modules. */
  warm(): void {
    for (const slot of this.slots) slot.warm();
  }

  /** A number per configuration object: a reload makes a new object, so workers get it anew. */
  private versionOf(config: GatewayConfig): number {
    let v = this.versions.get(config);
    if (v === undefined) this.versions.set(config, (v = this.nextVersion++));
    return v;
  }

  private async acquire(config: GatewayConfig): Promise<Slot> {
    if (this.closed) throw new Error('the interpretation pool is closed');
    const slot = this.idle.pop() ?? (await new Promise<Slot>((resolve) => this.waiting.push(resolve)));
    const version = this.versionOf(config);
    try {
      if (slot.configVersion !== version) {
        slot.post({ type: 'config', partners: config.partners, mappings: config.mappings });
        slot.configVersion = version;
      }
    } catch (err) {
      this.release(slot);
      throw err;
    }
    return slot;
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.idle.push(slot);
  }

  async whole(config: GatewayConfig, partner: PartnerProfile, job: WholeJob): Promise<ReadyInterpretation> {
    const slot = await this.acquire(config);
    try {
      return (await slot.request(
        {
          type: 'whole',
          partnerId: partner.id,
          format: job.format,
          bytes: Slot.own(job.bytes),
          ...(job.fileName !== undefined ? { fileName: job.fileName } : {}),
          ...(job.contentType !== undefined ? { contentType: job.contentType } : {}),
        },
        this.opts.timeoutMs,
      )) as ReadyInterpretation;
    } finally {
      this.release(slot);
    }
  }

  x12(config: GatewayConfig, partner: PartnerProfile): Promise<X12Stream> {
    return this.stream(config, partner, 'x12');
  }

  edifact(config: GatewayConfig, partner: PartnerProfile): Promise<EdifactStream> {
    return this.stream(config, partner, 'edifact');
  }

  /** A message's stream on one worker, held until closed; its slices share the message's time budget. */
  private async stream<Item>(config: GatewayConfig, partner: PartnerProfile, format: StreamFormat): Promise<InterpretStream<Item>> {
    const slot = await this.acquire(config);
    const generation = slot.generation;
    let spentMs = 0;
    let open = true;
    const send = async (msg: ToWorker): Promise<Item[]> => {
      if (!open) throw new Error(`the ${format} stream is closed`);
      // A worker replaced mid-stream lost the stream's state: the message cannot go on.
      if (slot.generation !== generation)
        throw new GatewayError('GW_INTERPRET_RESOURCES', 'The interpretation worker of this message was replaced; the raw message is kept, replay it.');
      const started = performance.now();
      try {
        return (await slot.request(msg, this.opts.timeoutMs - spentMs)) as Item[];
      } finally {
        spentMs += performance.now() - started;
      }
    };
    const stream: InterpretStream<Item> = {
      push: (bytes) => send({ type: 'stream-push', bytes: Slot.own(bytes) }),
      end: () => send({ type: 'stream-end' }),
      close: () => {
        if (!open) return;
        open = false;
        this.release(slot);
      },
    };
    try {
      await send({ type: 'stream-open', format, partnerId: partner.id });
    } catch (err) {
      stream.close();
      throw err;
    }
    return stream;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.close()));
  }
}
