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

export interface RawComponent {
  text: string;
  /** 0-based byte offset of the component's first byte in the payload. */
  offset: number;
}

export interface RawSegment {
  tag: string;
  offset: number;
  /** element → occurrences (repetitions) → components; element 0 is the tag. */
  elements: RawComponent[][][];
  /** The input ended before the segment's terminator. */
  unterminated: boolean;
}

export interface Tokenized {
  separators: EdifactSeparators;
  una: boolean;
  segments: RawSegment[];
  /** Offsets where each line starts, for line/column of an offset. */
  lineStarts: number[];
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
 * Splits the payload (one char per byte) into raw segments, one Tokenized per interchange: a UNA, or a
 * UNB after segments, starts the next (without its own UNA it keeps the separators read so far, its
 * syntax version deciding the repetition separator). Throws EdifactSyntaxStop when it cannot.
 */
export function tokenize(s: string): Tokenized[] {
  const lineStarts = lineStartsOf(s);
  let p = s.startsWith(BOM) ? 3 : 0;
  p = skipBlank(s, p);
  const out: Tokenized[] = [];
  let current: Tokenized | undefined;
  while (p < s.length) {
    if (!current || s.startsWith('UNA', p)) {
      const { separators, una, at } = separatorsAt(s, p, lineStarts);
      current = { separators, una, segments: [], lineStarts };
      out.push(current);
      p = skipBlank(s, at);
      applySyntaxVersion(s, p, separators, una, una ? separators.repetition : null);
      continue;
    }
    if (current.segments.length > 0 && s.startsWith('UNB', p)) {
      current = { separators: { ...current.separators }, una: false, segments: [], lineStarts };
      out.push(current);
      applySyntaxVersion(s, p, current.separators, false, null);
    }
    const seg = readSegment(s, p, current.separators);
    if (!/^[A-Z0-9]{1,3}$/.test(seg.tag))
      stop(
        `"${printable(seg.tag.slice(0, 20))}" is not a segment tag (1–3 upper-case letters or digits) at segment ` +
          `${current.segments.length + 1}: the separators or terminator do not fit the data.`,
        seg.offset,
        lineStarts,
      );
    current.segments.push(seg.segment);
    p = skipBlank(s, seg.next);
  }
  const empty = out.find((t) => t.segments.length === 0);
  if (!current || empty) stop('The payload holds no segment after the UNA.', p, lineStarts);
  return out;
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

/** Reads one segment from `p`; returns it and the offset after its terminator. */
function readSegment(s: string, p: number, sep: EdifactSeparators): { segment: RawSegment; tag: string; offset: number; next: number } {
  const elements: RawComponent[][][] = [];
  let occurrences: RawComponent[][] = [];
  let components: RawComponent[] = [];
  let text = '';
  let compStart = p;
  let q = p;
  let terminated = false;
  const endComponent = (next: number) => {
    components.push({ text, offset: compStart });
    text = '';
    compStart = next;
  };
  while (q < s.length) {
    const c = s.charAt(q);
    if (c === sep.release) {
      const released = s.charAt(q + 1);
      if (released === '\r' || released === '\n') q++;
      else {
        text += released;
        q += 2;
        continue;
      }
    } else if (c === sep.segment) {
      terminated = true;
      q++;
      break;
    } else if (c === sep.element) {
      endComponent(q + 1);
      occurrences.push(components);
      elements.push(occurrences);
      components = [];
      occurrences = [];
    } else if (c === sep.component) endComponent(q + 1);
    else if (c === sep.repetition) {
      endComponent(q + 1);
      occurrences.push(components);
      components = [];
    } else if (c !== '\r' && c !== '\n') text += c;
    q++;
  }
  endComponent(q);
  occurrences.push(components);
  elements.push(occurrences);
  const tag = elements[0]?.[0]?.[0]?.text ?? '';
  return { segment: { tag, offset: p, elements, unterminated: !terminated }, tag, offset: p, next: q };
}
