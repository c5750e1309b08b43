import type { X12Delimiters } from './reader.js';

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
  /** Segments between ST and SE; any iterable, so large bodies can be produced as they are written. */
  sets: { id: string; control: string; implementation?: string; segments: Iterable<[string, ...string[]]> }[];
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

/** Partner profile `lineBreak` values → what follows each segment terminator. */
export const LINE_BREAKS = { lf: '\n', crlf: '\r\n', none: '' } as const;

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** `YYMMDD`, `HHMM` and `CCYYMMDD` in UTC, as ISA09/ISA10 and GS04 want them. */
export function x12Dates(at: Date): { yymmdd: string; hhmm: string; ccyymmdd: string } {
  const ccyymmdd = `${at.getUTCFullYear()}${pad(at.getUTCMonth() + 1, 2)}${pad(at.getUTCDate(), 2)}`;
  return { yymmdd: ccyymmdd.slice(2), hhmm: `${pad(at.getUTCHours(), 2)}${pad(at.getUTCMinutes(), 2)}`, ccyymmdd };
}

/** ISA01 … ISA16 widths: the ISA is fixed-length. */
const ISA_WIDTHS = [2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1];

/**
 * Writes an interchange as text: the fixed-length ISA padded, SE01/GE01/IEA01 counted, TA1 segments
 * before the groups, empty trailing elements left out. Values cannot carry a delimiter (X12 has no
 * escape): any delimiter character inside a value is written as a space.
 * @see docs/decisions/0004-own-x12-reader.md (why not node-x12's serializer)
 */
export function writeInterchange(ic: OutboundInterchange, opts: X12WriteOptions): string {
  return [...interchangeText(ic, opts)].join('');
}

/** The interchange's text segment by segment (see writeInterchange), for writers that yield as they go. */
export function* interchangeText(ic: OutboundInterchange, opts: X12WriteOptions): Generator<string> {
  const d = opts.delimiters;
  // ISA11 is the repetition separator only from version 00402 on; before, it is the standards id `U`.
  const repetition = ic.version >= '00402' ? d.repetition : null;
  const end = d.segment + opts.lineBreak;
  const special = [d.element, d.segment, d.component, ...(repetition ? [repetition] : [])];
  const clean = (v: string) => (special.some((c) => v.includes(c)) ? [...v].map((c) => (special.includes(c) ? ' ' : c)).join('') : v);
  const segment = (tag: string, elements: string[]): string => {
    let n = elements.length;
    while (n > 0 && elements[n - 1] === '') n--;
    return n ? `${tag}${d.element}${elements.slice(0, n).map(clean).join(d.element)}${end}` : `${tag}${end}`;
  };
  const { yymmdd, hhmm, ccyymmdd } = x12Dates(ic.at);
  const isa = [
    '00',
    '',
    '00',
    '',
    ic.sender.qualifier,
    ic.sender.id,
    ic.receiver.qualifier,
    ic.receiver.id,
    yymmdd,
    hhmm,
    repetition ?? 'U',
    ic.version,
    ic.control,
    ic.ackRequested ? '1' : '0',
    ic.usage,
  ];
  // ISA elements have fixed widths; ISA11 (the repetition separator) is written as is.
  const fixed = isa.map((v, i) => (i === 10 ? v : clean(v)).padEnd(ISA_WIDTHS[i] as number, ' ').slice(0, ISA_WIDTHS[i]));
  yield `ISA${d.element}${fixed.join(d.element)}${d.element}${d.component}${end}`;
  for (const ta1 of ic.ta1 ?? []) yield segment('TA1', ta1);
  for (const g of ic.groups) {
    yield segment('GS', [g.functionalId, g.sender, g.receiver, ccyymmdd, hhmm, g.control, 'X', g.version]);
    for (const s of g.sets) {
      yield segment('ST', s.implementation ? [s.id, s.control, s.implementation] : [s.id, s.control]);
      let count = 2;
      for (const [tag, ...elements] of s.segments) {
        count++;
        yield segment(tag, elements);
      }
      yield segment('SE', [String(count), s.control]);
    }
    yield segment('GE', [String(g.sets.length), g.control]);
  }
  yield segment('IEA', [String(ic.groups.length), ic.control]);
}
