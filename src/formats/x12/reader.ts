import type { Problem } from '../../errors.js';

/**
 * A push-based X12 reader: bytes go in chunk by chunk, envelope events come out as soon as they are
 * complete. It holds at most one unfinished segment plus the transaction set being read, so a file of
 * any size is read in bounded memory (a single set is held whole).
 *
 * It reads what trading partners really send: delimiters from each ISA (any byte, including 0x7F,
 * 0x15, `'`, `|`, `~` as element separator), ISA11 as repetition separator from version 00402 on,
 * CR/LF after segments, line breaks inserted every 80 columns, indentation, a UTF-8 byte-order mark,
 * several interchanges with different delimiters in one file, TA1 segments outside a group.
 * @see docs/decisions/0004-own-x12-reader.md
 */

/** One segment. `elements[0]` is element 01. Values keep their component/repetition separators. */
export interface X12Segment {
  tag: string;
  elements: string[];
  /** 1-based position inside the transaction set, ST = 1 (X12 AK3-02); 0 for envelope segments. */
  position: number;
  /** 1-based line in the payload where the segment starts. */
  line: number;
}

export interface X12Delimiters {
  element: string;
  component: string;
  segment: string;
  /** ISA11 from version 00402 on; null before (ISA11 is then the standards identifier). */
  repetition: string | null;
}

export interface X12InterchangeHeader {
  /** ISA01 … ISA16 exactly as sent (padding kept), index 0 = ISA01. */
  isa: string[];
  sender: { qualifier: string; id: string };
  receiver: { qualifier: string; id: string };
  /** ISA13 as sent (leading zeros kept). */
  control: string;
  /** ISA12, e.g. `00401`. */
  standardVersion: string;
  /** ISA14 = 1: the sender asks for a TA1. */
  ackRequested: boolean;
  test: boolean;
  delimiters: X12Delimiters;
  line: number;
  /** Problems with the ISA itself (field lengths, codes); each carries its TA1 note code. */
  problems: Problem[];
}

export interface X12GroupHeader {
  /** GS01, e.g. `SH`; `FA` for 997/999. */
  functionalId: string;
  sender: string;
  receiver: string;
  date: string;
  time: string;
  /** GS06. */
  control: string;
  /** GS08, e.g. `004010VICS`. */
  version: string;
  line: number;
}

export interface X12TransactionSet {
  /** ST01, e.g. `856`. */
  id: string;
  /** ST02. */
  control: string;
  /** ST03 (implementation convention reference, 5010), when present. */
  implementation?: string;
  /** GS08 of the enclosing group. */
  version: string;
  /** Segments between ST and SE. */
  segments: X12Segment[];
  componentSeparator: string;
  repetitionSeparator: string | null;
  line: number;
  /** Problems that make this set unusable (SE count, control number mismatch …). */
  problems: Problem[];
}

export interface X12GroupSummary extends X12GroupHeader {
  /** GE01 as sent, or null when the GE is missing. */
  declaredSets: string | null;
  /** Sets read in the group (ST … SE, complete or not). */
  setCount: number;
  problems: Problem[];
}

export interface X12InterchangeSummary extends X12InterchangeHeader {
  groupCount: number;
  /** TA1 segments found in the interchange (acknowledgments of interchanges we sent). */
  ta1: X12Segment[];
}

export type X12Event =
  | { kind: 'interchange'; interchange: X12InterchangeHeader }
  | { kind: 'set'; set: X12TransactionSet; group: X12GroupHeader; interchange: X12InterchangeHeader }
  | { kind: 'group-end'; group: X12GroupSummary; interchange: X12InterchangeHeader }
  | { kind: 'interchange-end'; interchange: X12InterchangeSummary }
  /** The rest of the input cannot be read (no ISA, no segment terminator, garbage between interchanges). */
  | { kind: 'fatal'; problem: Problem; interchange?: X12InterchangeHeader };

/** Lengths of ISA01 … ISA16 and the TA1 note code (TA105) for a bad value in each. */
const ISA_FIELDS: { len: number; ta1: string; name: string }[] = [
  { len: 2, ta1: '010', name: 'authorization information qualifier' },
  { len: 10, ta1: '011', name: 'authorization information' },
  { len: 2, ta1: '012', name: 'security information qualifier' },
  { len: 10, ta1: '013', name: 'security information' },
  { len: 2, ta1: '005', name: 'sender ID qualifier' },
  { len: 15, ta1: '006', name: 'sender ID' },
  { len: 2, ta1: '007', name: 'receiver ID qualifier' },
  { len: 15, ta1: '008', name: 'receiver ID' },
  { len: 6, ta1: '014', name: 'interchange date' },
  { len: 4, ta1: '015', name: 'interchange time' },
  { len: 1, ta1: '016', name: 'standards identifier / repetition separator' },
  { len: 5, ta1: '017', name: 'version number' },
  { len: 9, ta1: '018', name: 'control number' },
  { len: 1, ta1: '019', name: 'acknowledgment requested' },
  { len: 1, ta1: '020', name: 'usage indicator' },
  { len: 1, ta1: '027', name: 'component element separator' },
];

/** Longest segment accepted before the input is declared to have no segment terminator. */
export const MAX_SEGMENT_BYTES = 1 << 20;
/** How far to look for the end of an ISA (it is 106 bytes; wrapped or padded ones a little more). */
const ISA_SCAN = 512;

const ALNUM = /[A-Za-z0-9]/;
const TAG = /^[A-Z0-9]{2,3}$/;

export function printable(s: string): string {
  return [...s].map((c) => (c < ' ' || c >= '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('');
}

const HIGH_BYTES = /[\x80-\xff]/;

/** Element text is read byte for byte; valid UTF-8 inside an element is decoded as UTF-8. */
function text(v: string): string {
  if (!/[\x80-\xff]/.test(v)) return v;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(v, 'latin1'));
  } catch {
    return v;
  }
}

interface OpenGroup {
  header: X12GroupHeader;
  setCount: number;
  controls: Set<string>;
  problems: Problem[];
}

export class X12Reader {
  /** Unconsumed input, one char per byte (latin1). */
  private buf = '';
  private line = 1;
  private mode: 'isa' | 'segments' | 'stopped' = 'isa';
  private first = true;
  private ended = false;
  private delims: X12Delimiters | undefined;
  /** Line-break bytes that are not delimiters: removed inside segments, skipped between them. */
  private strip: RegExp | undefined;
  private interchange: X12InterchangeSummary | undefined;
  private groupControls = new Set<string>();
  private group: OpenGroup | undefined;
  /** The transaction set being read (ST seen, SE not yet). */
  private open: X12TransactionSet | undefined;
  private out: X12Event[] = [];
  /** ISA13 of the last interchange read, for messages about what follows it. */
  private lastControl = '';

  /** Feeds bytes; returns the events they completed. */
  push(chunk: Uint8Array): X12Event[] {
    if (this.mode === 'stopped') return [];
    this.buf += Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    this.run();
    return this.take();
  }

  /** Ends the input; returns the remaining events (an unterminated interchange is reported here). */
  end(): X12Event[] {
    this.ended = true;
    if (this.mode !== 'stopped') {
      this.run();
      if (this.mode === 'segments') {
        const rest = this.buf.replace(/[\s\x00\x1a]+/g, '');
        if (rest.length) this.segment(this.buf.trimEnd()); // a last segment without terminator
        this.buf = '';
        this.closeInterchange({
          code: 'GW_X12_ENVELOPE',
          message: `The input ends inside interchange ${this.interchange?.control} (no IEA): the file is truncated.`,
          location: { segment: 'IEA', line: this.line },
          x12: { ta1: '023' },
        });
      } else if (this.mode === 'isa' && this.first) {
        this.fatal({
          code: 'GW_X12_ENVELOPE',
          message: 'The payload is empty: expected an X12 interchange starting with ISA.',
          location: { segment: 'ISA', line: 1 },
        });
      }
      this.mode = 'stopped';
    }
    return this.take();
  }

  private take(): X12Event[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  private fatal(problem: Problem): void {
    this.out.push(this.interchange ? { kind: 'fatal', problem, interchange: this.interchange } : { kind: 'fatal', problem });
    this.mode = 'stopped';
    this.buf = '';
  }

  private run(): void {
    let pos = 0;
    const buf = this.buf;
    while (this.mode !== 'stopped') {
      if (this.mode === 'isa') {
        const next = this.readIsa(buf, pos);
        if (next === -1) break;
        pos = next;
        continue;
      }
      const d = this.delims as X12Delimiters;
      // A new ISA where a segment was expected: the previous interchange lacks its IEA.
      if (buf.startsWith('ISA', pos) && buf.length > pos + 3 && !ALNUM.test(buf[pos + 3] as string)) {
        this.closeInterchange({
          code: 'GW_X12_ENVELOPE',
          message: `Interchange ${this.interchange?.control} has no IEA before the next ISA (line ${this.line}).`,
          location: { segment: 'IEA', line: this.line },
          x12: { ta1: '023' },
        });
        this.mode = 'isa';
        continue;
      }
      pos = this.skipBreaks(buf, pos);
      const end = buf.indexOf(d.segment, pos);
      if (end === -1) {
        if (buf.length - pos > MAX_SEGMENT_BYTES) {
          this.fatal({
            code: 'GW_X12_SYNTAX',
            message:
              `No segment terminator "${printable(d.segment)}" within ${MAX_SEGMENT_BYTES} ` +
              `bytes after line ${this.line}: the data is not X12 or the terminator is wrong.`,
            location: { line: this.line },
            x12: { ta1: '004' },
          });
          return;
        }
        break;
      }
      const raw = buf.slice(pos, end);
      const segLine = this.line;
      this.countLines(raw);
      if (d.segment === '\n') this.line++;
      pos = this.skipBreaks(buf, end + 1);
      this.segment(raw, segLine);
    }
    this.buf = this.mode === 'stopped' ? '' : buf.slice(pos);
  }

  private countLines(s: string): void {
    for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) this.line++;
  }

  /** Skips line breaks and indentation after a segment terminator. */
  private skipBreaks(buf: string, from: number): number {
    const d = this.delims as X12Delimiters;
    let i = from;
    for (; i < buf.length; i++) {
      const c = buf[i] as string;
      if ((c === '\n' || c === '\r' || c === ' ' || c === '\t') && c !== d.element && c !== d.segment && c !== d.component && c !== d.repetition) {
        if (c === '\n') this.line++;
        continue;
      }
      return i;
    }
    return i;
  }

  /** Reads one ISA at `pos`; returns the index after it, or -1 when more input is needed. */
  private readIsa(buf: string, pos: number): number {
    let i = pos;
    if (this.first && buf.startsWith('\xef\xbb\xbf', i)) i += 3;
    // Whitespace, NUL padding and a DOS end-of-file mark (0x1A) between interchanges are ignored.
    while (i < buf.length && /[\s\x00\x1a]/.test(buf[i] as string)) {
      if (buf[i] === '\n') this.line++;
      i++;
    }
    // Waiting for more input keeps the whitespace already counted as consumed.
    const wait = i > pos ? i : -1;
    if (i >= buf.length) {
      if (this.ended && !this.first) {
        this.mode = 'stopped';
        return i;
      }
      return wait;
    }
    // Wait for the whole ISA, unless what is there can already be refused.
    if (buf.length - i < ISA_SCAN && !this.ended && (buf.length - i < 3 || buf.startsWith('ISA', i)) && !this.scanIsa(buf, i)) return wait;
    if (!buf.startsWith('ISA', i)) return this.refuseStart(buf, i);
    const scan = this.scanIsa(buf, i);
    if (!scan) {
      const el = buf[i + 3] ?? '';
      this.fatal({
        code: 'GW_X12_ENVELOPE',
        message:
          `The ISA segment at line ${this.line} is truncated or malformed: expected 16 elements separated by "${printable(el)}" and ` +
          `then the component separator and the segment terminator; the input ends or runs on for more than ${ISA_SCAN} bytes first.`,
        location: { segment: 'ISA', line: this.line },
        x12: { ta1: '023' },
      });
      return -1;
    }
    const { fields, component, segment, next } = scan;
    const element = buf[i + 3] as string;
    const line = this.line;
    const problems: Problem[] = [];
    const isa = fields;
    const loc = (n: number) => ({ segment: 'ISA', element: n, line });
    if (ALNUM.test(element) || element === ' ') {
      this.fatal({
        code: 'GW_X12_ENVELOPE',
        message: `"${printable(element)}" (byte 4 of the ISA) cannot be the element separator.`,
        location: loc(1),
        x12: { ta1: '026' },
      });
      return -1;
    }
    if (ALNUM.test(segment) || segment === component || segment === element || segment === ' ') {
      this.fatal({
        code: 'GW_X12_ENVELOPE',
        message:
          `No valid segment terminator after ISA16 at line ${line}: "${printable(segment)}" follows the component separator ` +
          `"${printable(component)}". A segment terminator must be a special character different from the other delimiters.`,
        location: loc(16),
        x12: { ta1: '004' },
      });
      return -1;
    }
    ISA_FIELDS.forEach((f, n) => {
      const v = isa[n] ?? '';
      if (v.length !== f.len) {
        const nonAscii = /[\x80-\xff]/.test(v) ? ' (it contains non-ASCII bytes)' : '';
        problems.push({
          code: 'GW_X12_ENVELOPE',
          message: `ISA${String(n + 1).padStart(2, '0')} (${f.name}) is ${v.length} bytes, must be ${f.len}${nonAscii}: the ISA is fixed-length.`,
          location: loc(n + 1),
          x12: { ta1: f.ta1 },
        });
      }
    });
    const version = isa[11] ?? '';
    const isa11 = isa[10] ?? '';
    const repetition = version >= '00402' && isa11.length === 1 && !ALNUM.test(isa11) && isa11 !== ' ' ? isa11 : null;
    if (component === element || (repetition !== null && (repetition === element || repetition === component || repetition === segment))) {
      problems.push({
        code: 'GW_X12_ENVELOPE',
        message:
          `The delimiters are not distinct: element "${printable(element)}", component "${printable(component)}", ` +
          `repetition "${printable(repetition ?? '')}", segment "${printable(segment)}".`,
        location: loc(16),
        x12: { ta1: '027' },
      });
    }
    if (!/^\d{9}$/.test(isa[12] ?? ''))
      problems.push({ code: 'GW_X12_ENVELOPE', message: `ISA13 "${isa[12]}" must be a 9-digit control number.`, location: loc(13), x12: { ta1: '018' } });
    if (!['0', '1'].includes(isa[13] ?? ''))
      problems.push({ code: 'GW_X12_ENVELOPE', message: `ISA14 "${isa[13]}" must be 0 or 1.`, location: loc(14), x12: { ta1: '019' } });
    if (!['P', 'T', 'I'].includes(isa[14] ?? ''))
      problems.push({ code: 'GW_X12_ENVELOPE', message: `ISA15 "${isa[14]}" must be P, T or I.`, location: loc(15), x12: { ta1: '020' } });
    this.delims = { element, component, segment, repetition };
    const breaks = ['\r', '\n'].filter((c) => c !== element && c !== component && c !== segment && c !== repetition);
    this.strip = breaks.length ? new RegExp(`[${breaks.map((c) => (c === '\r' ? '\\r' : '\\n')).join('')}]`, 'g') : undefined;
    this.interchange = {
      isa,
      sender: { qualifier: (isa[4] ?? '').trim(), id: text(isa[5] ?? '').trim() },
      receiver: { qualifier: (isa[6] ?? '').trim(), id: text(isa[7] ?? '').trim() },
      control: isa[12] ?? '',
      standardVersion: version,
      ackRequested: isa[13] === '1',
      test: isa[14] === 'T',
      delimiters: this.delims,
      line,
      problems,
      groupCount: 0,
      ta1: [],
    };
    this.groupControls = new Set();
    this.first = false;
    this.out.push({ kind: 'interchange', interchange: this.interchange });
    this.countLines(buf.slice(i, next));
    this.mode = 'segments';
    const after = this.skipBreaks(buf, next);
    return after;
  }

  private refuseStart(buf: string, i: number): number {
    const head = buf.slice(i, i + 3);
    const ebcdic = head === '\xc9\xe2\xc1';
    const where = this.first
      ? 'The payload does not start with an ISA segment'
      : `After interchange ${this.lastControl} the data continues with something other than an ISA`;
    this.fatal({
      code: 'GW_X12_ENVELOPE',
      message: ebcdic
        ? `${where}: it begins with the EBCDIC bytes for "ISA". EBCDIC interchanges are not read; have the partner send ASCII.`
        : `${where} (found "${printable(head)}" at line ${this.line}). Send a complete X12 interchange.`,
      location: { segment: 'ISA', line: this.line },
      x12: { ta1: '024' },
    });
    return -1;
  }

  /** Finds the ISA's 16 elements, ISA16 and the segment terminator, ignoring line breaks inside. */
  private scanIsa(buf: string, i: number): { fields: string[]; component: string; segment: string; next: number } | undefined {
    const element = buf[i + 3];
    if (element === undefined) return undefined;
    let seps = 0;
    let text = '';
    let j = i + 4;
    const limit = Math.min(buf.length, i + ISA_SCAN);
    for (; j < limit && seps < 15; j++) {
      const c = buf[j] as string;
      if ((c === '\r' || c === '\n') && c !== element) continue;
      if (c === element) seps++;
      text += c;
    }
    if (seps < 15 || j + 1 >= buf.length) return undefined;
    const component = buf[j] as string;
    const segment = buf[j + 1] as string;
    const fields = `${text}${component}`.split(element);
    return { fields, component, segment, next: j + 2 };
  }

  /** Handles one segment's raw text (without its terminator). */
  private segment(rawIn: string, line = this.line): void {
    const d = this.delims as X12Delimiters;
    const raw = this.strip && (rawIn.includes('\n') || rawIn.includes('\r')) ? rawIn.replace(this.strip, '') : rawIn;
    const parts = raw.split(d.element);
    const tag = (parts[0] as string).trim();
    parts.shift();
    const elements = HIGH_BYTES.test(raw) ? parts.map(text) : parts;
    const ic = this.interchange as X12InterchangeSummary;
    if (tag === 'IEA') {
      this.endInterchange(elements, line);
      return;
    }
    if (tag === 'GS') {
      this.startGroup(elements, line);
      return;
    }
    if (tag === 'GE') {
      this.endGroup(elements, line);
      return;
    }
    if (tag === 'ST') {
      this.startSet(elements, line);
      return;
    }
    if (tag === 'SE') {
      this.endSet(elements, line);
      return;
    }
    if (tag === 'TA1' && !this.group) {
      ic.ta1.push({ tag, elements, position: 0, line });
      return;
    }
    if (this.open) {
      const set = this.open;
      const position = set.segments.length + 2;
      if (!TAG.test(tag)) {
        set.problems.push({
          code: 'GW_X12_SYNTAX',
          message: `"${printable(tag.slice(0, 20))}" is not a segment identifier (line ${line}).`,
          location: { segment: printable(tag.slice(0, 3)), position, transaction: set.control, line },
          x12: { ak3: '1', ak5: '5' },
        });
      }
      set.segments.push({ tag, elements, position, line });
      return;
    }
    const where = this.group ? `inside group ${this.group.header.control} but outside any transaction set` : 'outside any functional group';
    const problem: Problem = {
      code: 'GW_X12_SYNTAX',
      message: `Segment "${printable(tag.slice(0, 20))}" at line ${line} is ${where}.`,
      location: { segment: printable(tag.slice(0, 3)), line },
      x12: { ta1: '024' },
    };
    if (this.group) this.group.problems.push({ ...problem, code: 'GW_X12_GROUP', x12: { ak9: '1' } });
    else ic.problems.push(problem);
  }

  private startGroup(e: string[], line: number): void {
    const ic = this.interchange as X12InterchangeSummary;
    if (this.group) this.endGroup(null, line);
    const header: X12GroupHeader = {
      functionalId: e[0] ?? '',
      sender: (e[1] ?? '').trim(),
      receiver: (e[2] ?? '').trim(),
      date: e[3] ?? '',
      time: e[4] ?? '',
      control: e[5] ?? '',
      version: e[7] ?? '',
      line,
    };
    const problems: Problem[] = [];
    if (this.groupControls.has(header.control)) {
      problems.push({
        code: 'GW_X12_GROUP',
        message: `GS06 ${header.control} is used twice in interchange ${ic.control}.`,
        location: { segment: 'GS', element: 6, line },
        x12: { ak9: '19' },
      });
    }
    if ((e[7] ?? '').includes(ic.delimiters.component)) {
      ic.problems.push({
        code: 'GW_X12_ENVELOPE',
        message:
          `GS08 "${e[7]}" contains the component separator "${printable(ic.delimiters.component)}": ` +
          `the ISA probably lacks ISA16, so its last character was taken as the component separator.`,
        location: { segment: 'ISA', element: 16, line: ic.line },
        x12: { ta1: '027' },
      });
    }
    this.groupControls.add(header.control);
    ic.groupCount++;
    this.group = { header, setCount: 0, controls: new Set(), problems };
  }

  private endGroup(e: string[] | null, line: number): void {
    const ic = this.interchange as X12InterchangeSummary;
    if (this.open) this.endSet(null, line);
    const g = this.group;
    if (!g) {
      ic.problems.push({ code: 'GW_X12_SYNTAX', message: `GE at line ${line} has no matching GS.`, location: { segment: 'GE', line }, x12: { ta1: '024' } });
      return;
    }
    if (e === null) {
      g.problems.push({
        code: 'GW_X12_GROUP',
        message: `Functional group ${g.header.control} has no GE trailer.`,
        location: { segment: 'GE', line },
        x12: { ak9: '2' },
      });
    } else {
      if (e[1] !== g.header.control)
        g.problems.push({
          code: 'GW_X12_GROUP',
          message: `GE02 "${e[1]}" does not match GS06 "${g.header.control}".`,
          location: { segment: 'GE', element: 2, line },
          x12: { ak9: '4' },
        });
      if (Number(e[0]) !== g.setCount || !/^\d+$/.test(e[0] ?? ''))
        g.problems.push({
          code: 'GW_X12_GROUP',
          message: `GE01 says ${e[0]} transaction sets, group ${g.header.control} has ${g.setCount}.`,
          location: { segment: 'GE', element: 1, line },
          x12: { ak9: '5' },
        });
    }
    this.out.push({
      kind: 'group-end',
      group: { ...g.header, declaredSets: e === null ? null : (e[0] ?? ''), setCount: g.setCount, problems: g.problems },
      interchange: ic,
    });
    this.group = undefined;
  }

  private startSet(e: string[], line: number): void {
    const ic = this.interchange as X12InterchangeSummary;
    if (this.open) this.endSet(null, line);
    if (!this.group) {
      ic.problems.push({
        code: 'GW_X12_SYNTAX',
        message: `ST ${e[1] ?? ''} at line ${line} is outside any functional group (no GS before it).`,
        location: { segment: 'ST', line },
        x12: { ta1: '024' },
      });
      this.startGroup(['', '', '', '', '', '', '', ''], line);
    }
    const g = this.group as OpenGroup;
    g.setCount++;
    const set: X12TransactionSet = {
      id: e[0] ?? '',
      control: e[1] ?? '',
      ...(e[2] ? { implementation: e[2] } : {}),
      version: g.header.version,
      segments: [],
      componentSeparator: ic.delimiters.component,
      repetitionSeparator: ic.delimiters.repetition,
      line,
      problems: [],
    };
    if (g.controls.has(set.control)) {
      set.problems.push({
        code: 'GW_X12_SET_TRAILER',
        message: `ST02 ${set.control} is used twice in group ${g.header.control}.`,
        location: { segment: 'ST', position: 1, element: 2, transaction: set.control, line },
        x12: { ak5: '23' },
      });
    }
    g.controls.add(set.control);
    this.open = set;
  }

  private endSet(e: string[] | null, line: number): void {
    const set = this.open;
    if (!set) {
      const ic = this.interchange as X12InterchangeSummary;
      const problem: Problem = {
        code: 'GW_X12_SYNTAX',
        message: `SE at line ${line} has no matching ST.`,
        location: { segment: 'SE', line },
        x12: { ta1: '024' },
      };
      if (this.group) this.group.problems.push({ ...problem, code: 'GW_X12_GROUP', x12: { ak9: '1' } });
      else ic.problems.push(problem);
      return;
    }
    const count = set.segments.length + 2;
    if (e === null) {
      set.problems.push({
        code: 'GW_X12_SET_TRAILER',
        message: `Transaction set ${set.control} has no SE trailer.`,
        location: { segment: 'SE', transaction: set.control, line },
        x12: { ak5: '2' },
      });
    } else {
      if (e[1] !== set.control)
        set.problems.push({
          code: 'GW_X12_SET_TRAILER',
          message: `SE02 "${e[1]}" does not match ST02 "${set.control}".`,
          location: { segment: 'SE', position: count, element: 2, transaction: set.control, line },
          x12: { ak5: '3' },
        });
      if (Number(e[0]) !== count || !/^\d+$/.test(e[0] ?? '')) {
        set.problems.push({
          code: 'GW_X12_SET_TRAILER',
          message: `SE01 says ${e[0]} segments, transaction set ${set.control} has ${count} (ST through SE).`,
          location: { segment: 'SE', position: count, element: 1, transaction: set.control, line },
          x12: { ak5: '4' },
        });
      }
    }
    this.open = undefined;
    const g = this.group as OpenGroup;
    this.out.push({ kind: 'set', set, group: g.header, interchange: this.interchange as X12InterchangeSummary });
  }

  private endInterchange(e: string[], line: number): void {
    const ic = this.interchange as X12InterchangeSummary;
    if (this.group) this.endGroup(null, line);
    if (e[1] !== ic.control)
      ic.problems.push({
        code: 'GW_X12_ENVELOPE',
        message: `IEA02 "${e[1]}" does not match ISA13 "${ic.control}".`,
        location: { segment: 'IEA', element: 2, line },
        x12: { ta1: '001' },
      });
    // A TA1-only interchange with IEA01 = 1 is common (and harmless): it is tolerated.
    const tolerated = ic.groupCount === 0 && ic.ta1.length > 0 && e[0] === '1';
    if (!tolerated && (Number(e[0]) !== ic.groupCount || !/^\d+$/.test(e[0] ?? '')))
      ic.problems.push({
        code: 'GW_X12_ENVELOPE',
        message: `IEA01 says ${e[0]} functional groups, the interchange has ${ic.groupCount}.`,
        location: { segment: 'IEA', element: 1, line },
        x12: { ta1: '021' },
      });
    this.out.push({ kind: 'interchange-end', interchange: ic });
    this.lastControl = ic.control;
    this.interchange = undefined;
    this.mode = 'isa';
  }

  private closeInterchange(problem: Problem): void {
    const ic = this.interchange;
    if (!ic) return;
    if (this.group) this.endGroup(null, this.line);
    ic.problems.push(problem);
    this.out.push({ kind: 'interchange-end', interchange: ic });
    this.lastControl = ic.control;
    this.interchange = undefined;
  }
}
