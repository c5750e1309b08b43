import { GatewayError } from '../../errors.js';
import { type EdifactEvent, EdifactReader } from './stream.js';
import type { EdifactInterchange } from './types.js';

export { segmentValue } from './segments.js';
export type * from './types.js';
export { type EdifactEvent, EdifactReader } from './stream.js';

/**
 * Reads the first EDIFACT interchange (UNA? UNB … UNZ) of a payload. Problems with a message stay on it (so the others
 * can be used and a CONTRL can name them), problems with the interchange as a whole are on
 * `problems`; input that cannot be split into segments at all throws GatewayError
 * (GW_EDIFACT_SYNTAX). Pure: no I/O.
 * @see docs/edifact.md
 */
export function parseEdifact(bytes: Uint8Array): EdifactInterchange {
  const [first] = parseEdifactInterchanges(bytes);
  if (!first) throw new GatewayError('GW_EDIFACT_SYNTAX', 'The payload holds no EDIFACT interchange.');
  return first;
}

/** Bytes per push when reading a payload already in memory. */
const READ_CHUNK = 1 << 20;

/**
 * Reads every interchange of a payload (several UNB … UNZ one after the other, each maybe with a
 * UNA) with the streaming reader, its messages gathered on each. For payloads held whole (tests,
 * the mapping test, the workbench); the pipeline streams with EdifactReader.
 */
export function parseEdifactInterchanges(bytes: Uint8Array): EdifactInterchange[] {
  return readEdifactChunks(chunksOf(bytes));
}

function* chunksOf(bytes: Uint8Array): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += READ_CHUNK) yield bytes.subarray(at, at + READ_CHUNK);
}

/** Reads the chunks of one payload into its interchanges; throws GatewayError (GW_EDIFACT_SYNTAX) where reading stops. */
export function readEdifactChunks(chunks: Iterable<Uint8Array>): EdifactInterchange[] {
  const reader = new EdifactReader();
  const out: EdifactInterchange[] = [];
  const gather = (events: EdifactEvent[]) => {
    for (const ev of events) {
      if (ev.kind === 'interchange') out.push(ev.interchange);
      else if (ev.kind === 'message') ev.interchange.messages.push(ev.message);
      else if (ev.kind === 'fatal') throw new GatewayError(ev.problem.code, ev.problem.message, ev.problem.location ? { location: ev.problem.location } : {});
    }
  };
  for (const chunk of chunks) gather(reader.push(chunk));
  gather(reader.end());
  return out;
}
