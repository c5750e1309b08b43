/**
 * The entry of an interpretation worker thread (see interpret-pool.ts). It holds the mapping
 * profiles and partner profiles of one configuration version and answers one request at a time:
 * a whole body, or the next slice of an X12 stream. Pure: no database, no file system.
 */
import { parentPort } from 'node:worker_threads';
import type { GatewayConfig } from '../config/load.js';
import { isGatewayError } from '../errors.js';
import type { PartnerProfile } from '../types.js';
import { X12Interpreter } from './interpret.js';
import { interpretWhole, readyItems } from './interpreter.js';
import type { ToWorker } from './interpret-pool.js';

type Snapshot = Pick<GatewayConfig, 'partners' | 'mappings'>;

let config: Snapshot | undefined;
let stream: X12Interpreter | undefined;

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
    case 'x12-open':
      stream = new X12Interpreter(partnerOf(msg.partnerId), config as Snapshot);
      return undefined;
    case 'x12-push':
      if (!stream) throw new Error('no X12 stream is open');
      return readyItems(stream.push(msg.bytes));
    case 'x12-end': {
      if (!stream) throw new Error('no X12 stream is open');
      const items = readyItems(stream.end());
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
