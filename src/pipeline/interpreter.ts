import type { GatewayConfig } from '../config/load.js';
import type { Problem } from '../errors.js';
import type { EdifactReceipt } from '../formats/edifact/contrl.js';
import type { PartnerProfile, SourceFormat } from '../types.js';
import { edifactInterpreter, interpret, X12Interpreter, type AckedSet, type InterpretConfig, type InterpretedDocument, type X12Item } from './interpret.js';
import type { EdifactItem } from './interpret-edifact.js';

/**
 * A document ready to store: its canonical form already serialized where it was made (a worker
 * thread), so the event loop copies one string instead of rebuilding and re-serializing a tree.
 */
export type ReadyDocument = Omit<InterpretedDocument, 'canonical'> & { canonical: string | null };

export interface ReadyInterpretation {
  documents: ReadyDocument[];
  problems: Problem[];
  /** EDIFACT: one receipt per interchange (duplicate check, CONTRL). */
  edifact?: EdifactReceipt[];
}

export type ReadyX12Item = Exclude<X12Item, { kind: 'document' }> | { kind: 'document'; doc: ReadyDocument; set?: AckedSet };

export type ReadyEdifactItem = Exclude<EdifactItem, { kind: 'document' }> | { kind: 'document'; doc: ReadyDocument };

/** An X12 or EDIFACT message being interpreted: bytes go in slice by slice, items come back per slice. */
export interface InterpretStream<Item> {
  push(bytes: Uint8Array): Promise<Item[]>;
  end(): Promise<Item[]>;
  /** Frees the stream's worker; safe to call twice. */
  close(): void;
}

export type X12Stream = InterpretStream<ReadyX12Item>;
export type EdifactStream = InterpretStream<ReadyEdifactItem>;

/** The formats interpreted as a stream, and what each hands out. */
export type StreamFormat = 'x12' | 'edifact';

/**
 * Where messages are interpreted: a pool of worker threads in the gateway (interpret-pool.ts), or
 * the calling thread (`inlineInterpreter`: the CLI, benchmarks, tests of the pipeline alone).
 */
export interface Interpreter {
  /** A whole JSON, XML or CSV body. */
  whole(config: GatewayConfig, partner: PartnerProfile, job: WholeJob): Promise<ReadyInterpretation>;
  x12(config: GatewayConfig, partner: PartnerProfile): Promise<X12Stream>;
  edifact(config: GatewayConfig, partner: PartnerProfile): Promise<EdifactStream>;
}

/** A whole (not X12 or EDIFACT) body to interpret; the content type says when it is canonical already (a portal form's). */
export interface WholeJob {
  format: Exclude<SourceFormat, StreamFormat>;
  bytes: Uint8Array;
  fileName?: string;
  contentType?: string;
}

export function readyDocument(doc: InterpretedDocument): ReadyDocument {
  return { ...doc, canonical: doc.canonical === null ? null : JSON.stringify(doc.canonical) };
}

export function readyItems(items: X12Item[]): ReadyX12Item[] {
  return items.map((item) => (item.kind === 'document' ? { ...item, doc: readyDocument(item.doc) } : item));
}

export function readyEdifactItems(items: EdifactItem[]): ReadyEdifactItem[] {
  return items.map((item) => (item.kind === 'document' ? { ...item, doc: readyDocument(item.doc) } : item));
}

export function interpretWhole(
  config: InterpretConfig,
  partner: PartnerProfile,
  job: { format: SourceFormat; bytes: Uint8Array; fileName?: string; contentType?: string },
): ReadyInterpretation {
  const result = interpret(job.bytes, job.format, partner, config, job.fileName, job.contentType);
  return { documents: result.documents.map(readyDocument), problems: result.problems, ...(result.edifact ? { edifact: result.edifact } : {}) };
}

/** Interprets on the calling thread. */
export const inlineInterpreter: Interpreter = {
  async whole(config, partner, job) {
    return interpretWhole(config, partner, job);
  },
  async x12(config, partner) {
    const interpreter = new X12Interpreter(partner, config);
    return {
      push: async (bytes) => readyItems(interpreter.push(bytes)),
      end: async () => readyItems(interpreter.end()),
      close: () => undefined,
    };
  },
  async edifact(config, partner) {
    const interpreter = edifactInterpreter(partner, config);
    return {
      push: async (bytes) => readyEdifactItems(interpreter.push(bytes)),
      end: async () => readyEdifactItems(interpreter.end()),
      close: () => undefined,
    };
  },
};
