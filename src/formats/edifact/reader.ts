import type { Problem } from '../../errors.js';
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

/** The separators and line starts one interchange is read with. */
export interface Tokenized {
  separators: EdifactSeparators;
  una: boolean;
  /** Offsets where each line starts, for line/column of an offset. */
  lineStarts: number[];
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

/** Line starts of the payload (offset 0 and every byte after a LF). */
export function lineStartsOf(s: string): number[] {
  const starts = [0];
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** 1-based line and column (byte on the line) of a 0-based offset. */
export function lineColumn(lineStarts: number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - (lineStarts[lo] ?? 0) + 1 };
}

function stop(message: string, offset: number, lineStarts: number[], segment?: string): never {
  const at = lineColumn(lineStarts, offset);
  throw new EdifactSyntaxStop({
    code: 'GW_EDIFACT_SYNTAX',
    message,
    location: { ...(segment ? { segment } : {}), line: at.line, column: at.column, offset },
    edifact: { error: '18' },
  });
}

/** Reads the UNA (or picks the defaults) and returns the separators and where the UNB begins. */
function separatorsAt(s: string, start: number, lineStarts: number[]): { separators: EdifactSeparators; una: boolean; at: number } {
  if (s.startsWith('UNA', start)) {
    const una = s.slice(start + 3, start + 9);
    if (una.length < 6) stop('The UNA is cut short: it needs six service characters after "UNA".', start, lineStarts, 'UNA');
    const [component, element, decimal, release, reserved, segment] = [...una] as [string, string, string, string, string, string];
    const used = [component, element, segment, ...(release === ' ' ? [] : [release])];
    if (new Set(used).size !== used.length || used.some((c) => ALNUM.test(c) || c === ' ' || c === '\r' || c === '\n'))
      stop(
        `The UNA service characters "${printable(una)}" are not usable: component, element, release and segment ` +
          'separators must be distinct, and not letters, digits, spaces or line breaks.',
        start,
        lineStarts,
        'UNA',
      );
    const repetition = reserved === ' ' ? null : reserved;
    return {
      separators: { component, element, decimal, release: release === ' ' ? null : release, repetition, segment },
      una: true,
      at: start + 9,
    };
  }
  if (!s.startsWith('UNB', start)) stop('The payload does not start with UNA or UNB: it is not an EDIFACT interchange.', start, lineStarts);
  const levelB = s.charAt(start + 3) === '\x1d';
  return { separators: { ...(levelB ? LEVEL_B_SEPARATORS : DEFAULT_SEPARATORS) }, una: false, at: start };
}

/** Syntax version 4 brings a repetition separator: the UNA's fifth character, or `*` by default. */
function applySyntaxVersion(s: string, at: number, sep: EdifactSeparators, una: boolean, unaReserved: string | null): void {
  const head = s.slice(at, at + 40);
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

/**
 * Splits the payload (one char per byte) into raw segments, yielded one at a time with the
 * Tokenized of their interchange (so each is garbage as soon as it is read): a UNA, or a UNB after
 * segments, starts the next interchange (without its own UNA it keeps the separators read so far,
 * its syntax version deciding the repetition separator). Throws EdifactSyntaxStop when it cannot.
 */
export function* tokenize(s: string): Generator<{ tokens: Tokenized; raw: RawSegment }> {
  const lineStarts = lineStartsOf(s);
  let p = skipBlank(s, s.startsWith(BOM) ? 3 : 0);
  let current: Tokenized | undefined;
  let count = 0;
  while (p < s.length) {
    if (!current || s.startsWith('UNA', p)) {
      const { separators, una, at } = separatorsAt(s, p, lineStarts);
      current = { separators, una, lineStarts };
      count = 0;
      p = skipBlank(s, at);
      if (p >= s.length) stop('The payload holds no segment after the UNA.', at, lineStarts);
      applySyntaxVersion(s, p, separators, una, una ? separators.repetition : null);
      continue;
    }
    if (count > 0 && s.startsWith('UNB', p)) {
      current = { separators: { ...current.separators }, una: false, lineStarts };
      count = 0;
      applySyntaxVersion(s, p, current.separators, false, null);
    }
    const seg = readSegment(s, p, current.separators);
    if (!/^[A-Z0-9]{1,3}$/.test(seg.tag))
      stop(
        `"${printable(seg.tag.slice(0, 20))}" is not a segment tag (1–3 upper-case letters or digits) at segment ` +
          `${count + 1}: the separators or terminator do not fit the data.`,
        seg.offset,
        lineStarts,
      );
    count++;
    yield { tokens: current, raw: seg };
    p = skipBlank(s, seg.next);
  }
  if (!current) stop('The payload is empty.', p, lineStarts);
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

/** Reads one segment from `p`; `next` is the offset after its terminator. Plain runs are sliced, not copied by character. */
function readSegment(s: string, p: number, sep: EdifactSeparators): RawSegment & { next: number } {
  let special = specials.get(sep);
  if (!special) specials.set(sep, (special = specialCodes(sep)));
  const elements: string[][][] = [];
  const offsets: number[] = [p];
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
      offsets.push(q + 1);
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
  return { tag: elements[0]?.[0]?.[0] ?? '', offset: p, elements, offsets, unterminated: !terminated, next: q };
}
