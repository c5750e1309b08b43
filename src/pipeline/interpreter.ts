import type { GatewayConfig } from '../config/load.js';
import type { Problem } from '../errors.js';
import type { EdifactReceipt } from '../formats/edifact/contrl.js';
import type { PartnerProfile, SourceFormat } from '../types.js';
import { interpret, X12Interpreter, type AckedSet, type InterpretConfig, type InterpretedDocument, type X12Item } from './interpret.js';

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

/** An X12 message being interpreted: bytes go in slice by slice, items come back per slice. */
export interface X12Stream {
  push(bytes: Uint8Array): Promise<ReadyX12Item[]>;
  end(): Promise<ReadyX12Item[]>;
  /** Frees the stream's worker; safe to call twice. */
  close(): void;
}

/**
 * Where messages are interpreted: a pool of worker threads in the gateway (interpret-pool.ts), or
 * the calling thread (`inlineInterpreter`: the CLI, benchmarks, tests of the pipeline alone).
 */
export interface Interpreter {
  /** A whole JSON, XML or CSV body. */
  whole(config: GatewayConfig, partner: PartnerProfile, job: WholeJob): Promise<ReadyInterpretation>;
  x12(config: GatewayConfig, partner: PartnerProfile): Promise<X12Stream>;
}

/** A whole (not X12) body to interpret; the content type says when it is canonical already (a portal form's). */
export interface WholeJob {
  format: Exclude<SourceFormat, 'x12'>;
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
};
