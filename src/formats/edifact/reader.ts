import type { Problem } from '../../errors.js';
import { LineIndex } from './lines.js';
import type { EdifactSeparators } from './types.js';

/**
 * Splits EDIFACT bytes into segments, elements, repetitions and components, resolving release
 * characters and keeping the byte offset of every component so each error can be located. Values stay
 * one char per byte (latin1) here; parse.ts decodes them with the interchange's character set.
 *
 * It reads what partners send: a UNA or the default separators (syntax 4 adds `*` as repetition
 * separator), the ISO 9735 level B defaults (IS1/IS3/IS4) when the UNB is written with them, CR/LF
 * after segments or inserted anywhere (wrapped lines), indentation between segments, a UTF-8 BOM.
 * @see docs/decisions/0043-edifact.md
 */

export interface RawSegment {
  tag: string;
  offset: number;
  /** element → occurrences (repetitions) → component texts; element 0 is the tag. */
  elements: string[][][];
  /** 0-based byte offset of each component's first byte, in reading order (see componentOffset). */
  offsets: number[];
  /** The input ended before the segment's terminator. */
  unterminated: boolean;
}

/** The separators one interchange is read with, and where lines start in the payload. */
export interface Tokenized {
  separators: EdifactSeparators;
  una: boolean;
  lines: LineIndex;
}

/** Byte offset of element `e` (0 = tag), occurrence `r`, component `c` (0-based), or of the segment. */
export function componentOffset(raw: RawSegment, e: number, r: number, c: number): number {
  let k = 0;
  for (let ei = 0; ei < raw.elements.length; ei++) {
    const occurrences = raw.elements[ei] ?? [];
    for (let ri = 0; ri < occurrences.length; ri++) {
      const n = occurrences[ri]?.length ?? 0;
      if (ei === e && ri === r) return c < n ? (raw.offsets[k + c] ?? raw.offset) : raw.offset;
      k += n;
    }
  }
  return raw.offset;
}

export const DEFAULT_SEPARATORS: EdifactSeparators = { component: ':', element: '+', decimal: '.', release: '?', repetition: null, segment: "'" };
/** ISO 9735 level B defaults (IS1, IS3, IS4; no release character). */
const LEVEL_B_SEPARATORS: EdifactSeparators = { component: '\x1f', element: '\x1d', decimal: '.', release: null, repetition: null, segment: '\x1c' };

/** A problem that stops reading: no UNA/UNB at the start, a bad UNA, no segment terminator. */
export class EdifactSyntaxStop extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

const BOM = '\xef\xbb\xbf';
const ALNUM = /[A-Za-z0-9]/;

function stop(message: string, offset: number, lines: LineIndex, segment?: string): never {
  const at = lines.at(offset);
  throw new EdifactSyntaxStop({
    code: 'GW_EDIFACT_SYNTAX',
    message,
    location: { ...(segment ? { segment } : {}), line: at.line, column: at.column, offset },
    edifact: { error: '18' },
  });
}

/** Reads the UNA at `start` (or picks the defaults) and returns the separators and where the UNB begins. */
function separatorsAt(s: string, start: number, base: number, lines: LineIndex): { separators: EdifactSeparators; una: boolean; at: number } {
  if (s.startsWith('UNA', start)) {
    const una = s.slice(start + 3, start + 9);
    if (una.length < 6) stop('The UNA is cut short: it needs six service characters after "UNA".', base + start, lines, 'UNA');
    const [component, element, decimal, release, reserved, segment] = [...una] as [string, string, string, string, string, string];
    const used = [component, element, segment, ...(release === ' ' ? [] : [release])];
    if (new Set(used).size !== used.length || used.some((c) => ALNUM.test(c) || c === ' ' || c === '\r' || c === '\n'))
      stop(
        `The UNA service characters "${printable(una)}" are not usable: component, element, release and segment ` +
          'separators must be distinct, and not letters, digits, spaces or line breaks.',
        base + start,
        lines,
        'UNA',
      );
    const repetition = reserved === ' ' ? null : reserved;
    return {
      separators: { component, element, decimal, release: release === ' ' ? null : release, repetition, segment },
      una: true,
      at: start + 9,
    };
  }
  if (!s.startsWith('UNB', start)) stop('The payload does not start with UNA or UNB: it is not an EDIFACT interchange.', base + start, lines);
  const levelB = s.charAt(start + 3) === '\x1d';
  return { separators: { ...(levelB ? LEVEL_B_SEPARATORS : DEFAULT_SEPARATORS) }, una: false, at: start };
}

/** Bytes of the UNB that decide the syntax version (and so the repetition separator). */
const SYNTAX_HEAD = 40;

/** Syntax version 4 brings a repetition separator: the UNA's fifth character, or `*` by default. */
function applySyntaxVersion(s: string, at: number, sep: EdifactSeparators, una: boolean, unaReserved: string | null): void {
  const head = s.slice(at, at + SYNTAX_HEAD);
  const version = head
    .split(sep.element)[1]
    ?.split(sep.component)[1]
    ?.replace(/[\r\n]/g, '')
    .charAt(0);
  if (version === '4') sep.repetition = una ? unaReserved : '*';
  else sep.repetition = null;
}

export function printable(s: string): string {
  return [...s].map((c) => (c < ' ' || c >= '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c)).join('');
}

/** A segment read, with the separators and lines of its interchange. */
export interface ReadSegment {
  tokens: Tokenized;
  raw: RawSegment;
}

/** Longest segment accepted before the input is declared to have no segment terminator. */
export const MAX_SEGMENT_BYTES = 1 << 20;

/**
 * Splits the payload, pushed chunk by chunk (one char per byte), into raw segments, each with the
 * Tokenized of its interchange: a UNA, or a UNB after segments, starts the next interchange (without
 * its own UNA it keeps the separators read so far, its syntax version deciding the repetition
 * separator). A chunk may end anywhere: what cannot be decided yet (a UNA, a segment without its
 * terminator, a release character) waits for the next chunk, so only the unfinished segment is held.
 * Throws EdifactSyntaxStop when it cannot read on.
 */
export class SegmentReader {
  readonly lines = new LineIndex();
  /** The unread bytes; `base` is the payload offset of its first. */
  private buf = '';
  private base = 0;
  private current: Tokenized | undefined;
  private count = 0;
  private bomChecked = false;
  private ended = false;

  /** The segments completed by `chunk`, read as they are taken (so a stop comes in payload order, after them). */
  push(chunk: Uint8Array): Generator<ReadSegment> {
    const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString('latin1');
    // The segments handed out by the last push are located by now.
    this.lines.forget(this.base);
    this.lines.add(text, this.base + this.buf.length);
    this.buf += text;
    return this.read();
  }

  *end(): Generator<ReadSegment> {
    this.ended = true;
    yield* this.read();
    if (!this.current) stop('The payload is empty.', this.base + this.buf.length, this.lines);
  }

  private *read(): Generator<ReadSegment> {
    const s = this.buf;
    let p = 0;
    if (!this.bomChecked) {
      if (s.length < 3 && !this.ended) return;
      this.bomChecked = true;
      if (s.startsWith(BOM)) p = 3;
    }
    for (;;) {
      p = skipBlank(s, p);
      // Fewer than three bytes cannot tell a UNA or UNB from a segment yet.
      if (p >= s.length || (s.length - p < 3 && !this.ended)) break;
      if (!this.current || s.startsWith('UNA', p) || (this.count > 0 && s.startsWith('UNB', p))) {
        const next = this.open(s, p);
        if (next === undefined) break;
        p = next;
        continue;
      }
      const seg = this.segment(s, p);
      if (!seg) break;
      yield { tokens: this.current as Tokenized, raw: seg };
      p = seg.next;
    }
    // Reached only when every segment was taken; a taker that stops the reading never pushes again.
    this.base += p;
    this.buf = s.slice(p);
  }

  /** Starts an interchange at `p` (UNA, or UNB); returns where its UNB is, or undefined to wait for more bytes. */
  private open(s: string, p: number): number | undefined {
    const ended = this.ended;
    const una = s.startsWith('UNA', p);
    if (una && s.length < p + 9 && !ended) return undefined;
    const from = una || !this.current ? separatorsAt(s, p, this.base, this.lines) : undefined;
    const at = skipBlank(s, from ? from.at : p);
    if (!ended && s.length < at + SYNTAX_HEAD) return undefined;
    if (from) {
      if (at >= s.length) stop('The payload holds no segment after the UNA.', this.base + from.at, this.lines);
      this.current = { separators: from.separators, una: from.una, lines: this.lines };
      applySyntaxVersion(s, at, from.separators, from.una, from.una ? from.separators.repetition : null);
    } else {
      this.current = { separators: { ...(this.current as Tokenized).separators }, una: false, lines: this.lines };
      applySyntaxVersion(s, at, this.current.separators, false, null);
    }
    this.count = 0;
    return at;
  }

  /** The segment at `p`, or undefined while its terminator has not arrived. */
  private segment(s: string, p: number): (RawSegment & { next: number }) | undefined {
    const seg = readSegment(s, p, (this.current as Tokenized).separators, this.base);
    if (seg.unterminated && !this.ended) {
      if (s.length - p <= MAX_SEGMENT_BYTES) return undefined;
      stop(
        `No segment terminator "${this.current?.separators.segment}" was found in ${MAX_SEGMENT_BYTES} bytes: the data cannot be split into segments.`,
        seg.offset,
        this.lines,
        seg.tag.slice(0, 3),
      );
    }
    if (!/^[A-Z0-9]{1,3}$/.test(seg.tag))
      stop(
        `"${printable(seg.tag.slice(0, 20))}" is not a segment tag (1–3 upper-case letters or digits) at segment ` +
          `${this.count + 1}: the separators or terminator do not fit the data.`,
        seg.offset,
        this.lines,
      );
    this.count++;
    return seg;
  }
}

function skipBlank(s: string, p: number): number {
  let q = p;
  while (
    q < s.length &&
    (s.charAt(q) === '\r' || s.charAt(q) === '\n' || s.charAt(q) === ' ' || s.charAt(q) === '\t' || s.charAt(q) === '\x00' || s.charAt(q) === '\x1a')
  )
    q++;
  return q;
}

/** Char codes that interrupt plain text: the separators, the release character, CR and LF. */
function specialCodes(sep: EdifactSeparators): Uint8Array {
  const table = new Uint8Array(256);
  for (const c of [sep.component, sep.element, sep.segment, sep.release, sep.repetition, '\r', '\n']) if (c) table[c.charCodeAt(0) & 0xff] = 1;
  return table;
}

const specials = new WeakMap<EdifactSeparators, Uint8Array>();

/**
 * Reads one segment from `p` of `s`, whose first byte is payload offset `base`; `next` is the
 * position in `s` after its terminator. Plain runs are sliced, not copied by character.
 */
function readSegment(s: string, p: number, sep: EdifactSeparators, base: number): RawSegment & { next: number } {
  let special = specials.get(sep);
  if (!special) specials.set(sep, (special = specialCodes(sep)));
  const elements: string[][][] = [];
  const offsets: number[] = [base + p];
  let occurrences: string[][] = [];
  let components: string[] = [];
  let text = '';
  let q = p;
  let terminated = false;
  while (q < s.length) {
    const run = q;
    while (q < s.length && special[s.charCodeAt(q)] !== 1) q++;
    if (q > run) text += s.slice(run, q);
    if (q >= s.length) break;
    const c = s.charAt(q);
    if (c === sep.release) {
      // A line break inserted after the release character (wrapped lines) is skipped, not released.
      let r = q + 1;
      while (s.charAt(r) === '\r' || s.charAt(r) === '\n') r++;
      text += s.charAt(r);
      q = r + 1;
      continue;
    }
    if (c === sep.segment) {
      terminated = true;
      q++;
      break;
    }
    if (c === sep.element || c === sep.component || c === sep.repetition) {
      components.push(text);
      text = '';
      offsets.push(base + q + 1);
      if (c !== sep.component) {
        occurrences.push(components);
        components = [];
      }
      if (c === sep.element) {
        elements.push(occurrences);
        occurrences = [];
      }
    }
    q++;
  }
  components.push(text);
  occurrences.push(components);
  elements.push(occurrences);
  return { tag: elements[0]?.[0]?.[0] ?? '', offset: base + p, elements, offsets, unterminated: !terminated, next: q };
}
