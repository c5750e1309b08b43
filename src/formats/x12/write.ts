import x12 from 'node-x12';
import type { X12Delimiters } from './reader.js';

const { X12Interchange, X12SerializationOptions } = x12;

/** How an outbound interchange is written: the partner's delimiters and line breaks. */
export interface X12WriteOptions {
  delimiters: X12Delimiters;
  /** Written after each segment terminator (`\n`, `\r\n` or nothing). */
  lineBreak: string;
}

export interface X12Party {
  qualifier: string;
  id: string;
}

export interface OutboundGroup {
  functionalId: string;
  sender: string;
  receiver: string;
  control: string;
  version: string;
  sets: { id: string; control: string; implementation?: string; segments: [string, ...string[]][] }[];
}

export interface OutboundInterchange {
  sender: X12Party;
  receiver: X12Party;
  control: string;
  /** ISA12, e.g. `00401`. */
  version: string;
  usage: 'P' | 'T';
  ackRequested: boolean;
  /** TA1 segments (elements only) placed before the first group. */
  ta1?: string[][];
  groups: OutboundGroup[];
  at: Date;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `YYMMDD`, `HHMM` and `CCYYMMDD` in UTC, as ISA09/ISA10 and GS04 want them. */
export function x12Dates(at: Date): { yymmdd: string; hhmm: string; ccyymmdd: string } {
  const ccyymmdd = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1, 2)}${pad(at.getUTCDate(), 2)}`;
  return { yymmdd: ccyymmdd.slice(2), hhmm: `${pad(at.getUTCHours(), 2)}${pad(at.getUTCMinutes(), 2)}`, ccyymmdd };
}

/**
 * Serializes an interchange with node-x12 (which pads the fixed-length ISA and counts SE01, GE01 and
 * IEA01). TA1 segments, which node-x12 cannot place outside a group, are written after the ISA.
 */
export function writeInterchange(ic: OutboundInterchange, opts: X12WriteOptions): string {
  const d = opts.delimiters;
  const options = new X12SerializationOptions({
    elementDelimiter: d.element,
    segmentTerminator: d.segment,
    subElementDelimiter: d.component,
    ...(d.repetition ? { repetitionDelimiter: d.repetition } : {}),
    endOfLine: opts.lineBreak,
    format: opts.lineBreak !== '',
  });
  const { yymmdd, hhmm, ccyymmdd } = x12Dates(ic.at);
  const out = new X12Interchange(options);
  out.setHeader(['00', '', '00', '', ic.sender.qualifier, ic.sender.id, ic.receiver.qualifier, ic.receiver.id, yymmdd, hhmm, ic.version >= '00402' && d.repetition ? d.repetition : 'U', ic.version, ic.control, ic.ackRequested ? '1' : '0', ic.usage, d.component]);
  for (const g of ic.groups) {
    const group = out.addFunctionalGroup(options);
    group.setHeader([g.functionalId, g.sender, g.receiver, ccyymmdd, hhmm, g.control, 'X', g.version]);
    for (const s of g.sets) {
      const tx = group.addTransaction();
      tx.setHeader(s.implementation ? [s.id, s.control, s.implementation] : [s.id, s.control]);
      for (const [tag, ...elements] of s.segments) tx.addSegment(tag, trimTrailing(elements));
    }
  }
  const text = out.toString(options);
  if (!ic.ta1?.length) return text;
  const isaEnd = text.indexOf(d.segment) + 1 + (opts.lineBreak ? opts.lineBreak.length : 0);
  const ta1 = ic.ta1.map((e) => `TA1${d.element}${e.join(d.element)}${d.segment}${opts.lineBreak}`).join('');
  return text.slice(0, isaEnd) + ta1 + text.slice(isaEnd);
}

/** Empty trailing elements are not written (X12 syntax). */
function trimTrailing(elements: string[]): string[] {
  let n = elements.length;
  while (n > 0 && elements[n - 1] === '') n--;
  return elements.slice(0, n);
}
