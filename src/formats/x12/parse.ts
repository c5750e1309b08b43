import { GatewayError, type Problem } from '../../errors.js';
import { X12Reader, type X12Event, type X12GroupSummary, type X12InterchangeSummary, type X12TransactionSet } from './reader.js';

export type { GroupReport, InterchangeReport } from './report.js';
export type { X12Delimiters, X12Event, X12GroupHeader, X12InterchangeHeader, X12Segment, X12TransactionSet } from './reader.js';

export interface X12Group extends X12GroupSummary {
  sets: X12TransactionSet[];
}

export interface X12Interchange extends X12InterchangeSummary {
  groups: X12Group[];
}

/** Bytes per push when reading a buffer already in memory; small enough to keep the event loop free. */
export const READ_CHUNK = 1 << 20;

/** Reads a whole buffer with the streaming reader, chunk by chunk. */
export function* readX12(bytes: Uint8Array, chunk = READ_CHUNK): Generator<X12Event> {
  const reader = new X12Reader();
  for (let at = 0; at < bytes.length; at += chunk) yield* reader.push(bytes.subarray(at, at + chunk));
  yield* reader.end();
}

/**
 * Reads a whole payload into interchanges, groups and sets (for small payloads, tests and tools;
 * the pipeline streams with readX12). Problems with one interchange, group or set stay on it so the
 * rest can still be used; input that cannot be read at all throws GatewayError. Interchanges read
 * before such a point are still returned by the streaming reader, not by this function.
 */
export function parseX12(bytes: Uint8Array): X12Interchange[] {
  const out: X12Interchange[] = [];
  let current: X12Interchange | undefined;
  let group: X12Group | undefined;
  const fatal: Problem[] = [];
  for (const ev of readX12(bytes)) {
    if (ev.kind === 'interchange') {
      current = Object.assign(ev.interchange as X12InterchangeSummary, { groups: [] as X12Group[] });
      out.push(current);
    } else if (ev.kind === 'set') {
      if (!group || group.line !== ev.group.line) {
        group = { ...ev.group, declaredSets: null, setCount: 0, problems: [], sets: [] };
        current?.groups.push(group);
      }
      group.sets.push(ev.set);
    } else if (ev.kind === 'group-end') {
      if (group && group.line === ev.group.line) Object.assign(group, ev.group, { sets: group.sets });
      else current?.groups.push({ ...ev.group, sets: [] });
      group = undefined;
    } else if (ev.kind === 'fatal') {
      fatal.push(ev.problem);
    }
  }
  const first = fatal[0];
  if (first) throw new GatewayError(first.code, first.message, { ...(first.location ? { location: first.location } : {}), problems: fatal });
  return out;
}
