import type { Problem, SourceLocation } from '../../errors.js';
import type { EdifactOutSegment, EdifactParty, EdifactSeparators } from './types.js';
import { writeEdifact } from './write.js';

/**
 * The CONTRL syntax and service report (ISO 9735-1 §9, UN/EDIFACT CONTRL D:3 for syntax 1–3,
 * 4:1 for syntax 4) answering one inbound interchange: the envelope mirrored (sender and recipient
 * swapped), UCI with action 7 (accepted, messages not named accepted too) or 4 (rejected), UCF for
 * rejected groups, UCM for rejected messages with UCS/UCD naming the segment and element of each
 * error, structure and data element errors (./structure-check.ts, ./element-check.ts) included. Only syntax problems are reported here;
 * mapping problems are not CONTRL's business. A partner that wants a receipt only gets UCI action 8
 * for an interchange taken in (decision 0048).
 */

/** What a CONTRL needs of an inbound interchange (small, structured-clone safe). */
export interface EdifactReceipt {
  syntax: { id: string; version: string };
  separators: EdifactSeparators;
  una: boolean;
  sender: EdifactParty;
  recipient: EdifactParty;
  controlRef: string;
  ackRequested: boolean;
  test: boolean;
  /** The partner wants a receipt only (`edifact.contrlReport: receipt`): UCI action 8, no UCF/UCM. */
  receiptOnly?: boolean;
  /** Interchange-level problems (envelope, refusal): the whole interchange is rejected. */
  problems: Problem[];
  groups: { ref: string; functionalId: string; sender: EdifactParty; recipient: EdifactParty; problems: Problem[] }[];
  messages: { ref: string; type: string; version: string; release: string; agency: string; association?: string; problems: Problem[] }[];
  /** CONTRL messages in the interchange: acknowledgments of interchanges we sent (UCI 0020 and 0083). */
  contrl: { ref: string; action: string }[];
  /** Sequence numbers of the documents formed from the interchange's messages (first > last: none). */
  firstSeq: number;
  lastSeq: number;
}

/** UCI 0083 action codes. */
export const CONTRL_ACTION = { accepted: '7', rejected: '4', received: '8' } as const;

const SERVICE_SEGMENTS = new Set(['UNA', 'UNB', 'UNG', 'UNH', 'UNT', 'UNE', 'UNZ']);

/** Problems of the message's structure: always on a UCS, even a segment missing right after UNH (position 1). */
const STRUCTURE_CODES = new Set(['GW_EDIFACT_SEGMENT_POSITION', 'GW_EDIFACT_SEGMENT_MISSING', 'GW_EDIFACT_SEGMENT_REPEATED']);

/** A problem a UCS reports: located on a data segment, or a structure problem. */
const onSegment = (p: Problem): boolean =>
  Boolean(p.location?.position && p.location.segment) && (STRUCTURE_CODES.has(p.code) || !SERVICE_SEGMENTS.has(p.location?.segment ?? ''));

const party = (p: EdifactParty): string[] => [p.id, p.qualifier ?? '', p.internalId ?? ''];

/** 0085 of a problem: its own, or 18 (unspecified error). */
const errorOf = (p: Problem | undefined): string => p?.edifact?.error ?? '18';

/** 0085, 0013 and S011 for a problem on a service segment (UCI, UCF, UCM). */
function serviceError(p: Problem | undefined): (string | string[])[] {
  if (!p) return [];
  const tag = p.location?.segment && SERVICE_SEGMENTS.has(p.location.segment) ? p.location.segment : '';
  const element = tag && p.location?.element ? [String(p.location.element), p.location.component ? String(p.location.component) : ''] : [];
  return [errorOf(p), tag, element];
}

/**
 * UCS and UCD lines for the problems of a message located on its segments, in segment order: one
 * UCS a segment, with the segment's own error (structure) if it has one, and a UCD (0085, element
 * and component position) for each error in its data elements (CONTRL segment group 2: UCS, UCD
 * C99).
 */
function segmentReports(problems: Problem[]): EdifactOutSegment[] {
  const out: EdifactOutSegment[] = [];
  const located = problems.filter(onSegment).sort((a, b) => (a.location?.position ?? 0) - (b.location?.position ?? 0));
  for (let i = 0; i < located.length; ) {
    const position = located[i]?.location?.position;
    const onIt: Problem[] = [];
    while (i < located.length && located[i]?.location?.position === position) onIt.push(located[i++] as Problem);
    const own = onIt.filter((p) => !p.location?.element);
    out.push({ tag: 'UCS', elements: own[0] ? [String(position), errorOf(own[0])] : [String(position)] });
    for (const p of onIt) {
      const loc = p.location as SourceLocation;
      if (loc.element) out.push({ tag: 'UCD', elements: [errorOf(p), [String(loc.element), loc.component ? String(loc.component) : '']] });
    }
    // Two structure errors at one segment (two segments missing after it): a UCS each, as before.
    for (const p of own.slice(1)) out.push({ tag: 'UCS', elements: [String(position), errorOf(p)] });
  }
  return out;
}

/** The report segments (UCI … ) of the CONTRL, without UNH/UNT. `duplicate`: the interchange repeats one seen before. */
export function contrlBody(r: EdifactReceipt, duplicate: boolean): EdifactOutSegment[] {
  const refused = duplicate ? ({ code: 'GW_EDIFACT_DUPLICATE', message: '', edifact: { error: '26' } } as Problem) : r.problems[0];
  const uci: EdifactOutSegment = {
    tag: 'UCI',
    elements: [r.controlRef, party(r.sender), party(r.recipient), contrlAction(r, duplicate), ...serviceError(refused)],
  };
  // A receipt only says the interchange was taken in; a refused one is still reported as rejected.
  if (refused || r.receiptOnly) return [uci];
  const out = [uci];
  for (const g of r.groups.filter((g) => g.problems.length))
    out.push({ tag: 'UCF', elements: [g.ref, party(g.sender), party(g.recipient), CONTRL_ACTION.rejected, ...serviceError(g.problems[0])] });
  for (const m of r.messages.filter((m) => m.problems.length)) {
    const onMessage = m.problems.find((p) => !onSegment(p));
    const id = [m.type, m.version, m.release, m.agency, m.association ?? ''];
    out.push({ tag: 'UCM', elements: [m.ref, id, CONTRL_ACTION.rejected, ...serviceError(onMessage)] });
    out.push(...segmentReports(m.problems));
  }
  return out;
}

/** The UCI action a CONTRL carries: rejected, received (a receipt only) or accepted. */
export function contrlAction(r: EdifactReceipt, duplicate: boolean): string {
  if (duplicate || r.problems.length) return CONTRL_ACTION.rejected;
  return r.receiptOnly ? CONTRL_ACTION.received : CONTRL_ACTION.accepted;
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * The whole CONTRL interchange as text, in the inbound interchange's syntax and separators.
 * `controls` are our UNB 0020 and UNH 0062 (from the outbound counters).
 */
export function contrlInterchange(
  r: EdifactReceipt,
  duplicate: boolean,
  controls: { interchange: string; message: string },
  at: Date,
  lineBreak: string,
): string {
  const version = /^[1-4]$/.test(r.syntax.version) ? r.syntax.version : '3';
  const syntaxId = /^UNO[A-Y]$/.test(r.syntax.id) ? r.syntax.id : 'UNOA';
  const yyyymmdd = `${at.getUTCFullYear()}${pad2(at.getUTCMonth() + 1)}${pad2(at.getUTCDate())}`;
  const date = version === '4' ? yyyymmdd : yyyymmdd.slice(2);
  const time = `${pad2(at.getUTCHours())}${pad2(at.getUTCMinutes())}`;
  const body = contrlBody(r, duplicate);
  const messageId = version === '4' ? ['CONTRL', '4', '1', 'UN'] : ['CONTRL', 'D', '3', 'UN'];
  const segments: EdifactOutSegment[] = [
    {
      tag: 'UNB',
      elements: [[syntaxId, version], party(r.recipient), party(r.sender), [date, time], controls.interchange, '', '', '', '', '', r.test ? '1' : ''],
    },
    { tag: 'UNH', elements: [controls.message, messageId] },
    ...body,
    { tag: 'UNT', elements: [String(body.length + 2), controls.message] },
    { tag: 'UNZ', elements: ['1', controls.interchange] },
  ];
  // A UNA whenever the inbound had one, or its separators are not the defaults (a later interchange of a payload).
  return writeEdifact(segments, r.separators, { ...(r.una ? { una: true } : {}), lineBreak });
}
