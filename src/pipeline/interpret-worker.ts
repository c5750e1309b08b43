/**
 * The entry of an interpretation worker thread (see interpret-pool.ts). It holds the mapping
 * profiles and partner profiles of one configuration version and answers one request at a time:
 * a whole body, or the next slice of an X12 or EDIFACT stream. Pure: no database, no file system.
 */
import { parentPort } from 'node:worker_threads';
import type { GatewayConfig } from '../config/load.js';
import { isGatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';
import { edifactInterpreter, X12Interpreter } from './interpret.js';
import { interpretWhole, readyEdifactItems, readyItems } from './interpreter.js';
import type { ToWorker } from './interpret-pool.js';

type Snapshot = Pick<GatewayConfig, 'partners' | 'mappings'>;

let config: Snapshot | undefined;
/** The open stream: its interpreter's push and end, each answering with ready items. */
let stream: { push(bytes: Uint8Array): unknown; end(): unknown } | undefined;

function openStream(format: 'x12' | 'edifact', partner: PartnerProfile): typeof stream {
  if (format === 'x12') {
    const x12 = new X12Interpreter(partner, config as Snapshot);
    return { push: (bytes) => readyItems(x12.push(bytes)), end: () => readyItems(x12.end()) };
  }
  const edifact = edifactInterpreter(partner, config as Snapshot);
  return { push: (bytes) => readyEdifactItems(edifact.push(bytes)), end: () => readyEdifactItems(edifact.end()) };
}

function partnerOf(id: string): PartnerProfile {
  const partner = config?.partners.get(id);
  if (!partner) throw new Error(`partner ${id} is not in the worker's configuration`);
  return partner;
}

function answer(msg: ToWorker): unknown {
  switch (msg.type) {
    case 'config':
      config = { partners: msg.partners, mappings: msg.mappings };
      return undefined;
    case 'whole':
      return interpretWhole(config as Snapshot, partnerOf(msg.partnerId), msg);
    case 'stream-open':
      stream = openStream(msg.format, partnerOf(msg.partnerId));
      return undefined;
    case 'stream-push':
      if (!stream) throw new Error('no stream is open');
      return stream.push(msg.bytes);
    case 'stream-end': {
      if (!stream) throw new Error('no stream is open');
      const items = stream.end();
      stream = undefined;
      return items;
    }
  }
}

parentPort?.postMessage({ ready: true });

parentPort?.on('message', (msg: ToWorker) => {
  try {
    const result = answer(msg);
    if (msg.type !== 'config') parentPort?.postMessage({ ok: true, result });
  } catch (err) {
    const e = err as Error;
    parentPort?.postMessage({ ok: false, error: isGatewayError(err) ? { code: err.code, message: err.message } : { message: e.message, stack: e.stack } });
  }
});
