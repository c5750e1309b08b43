import type { Problem, SourceLocation } from '../../errors.js';
import { type EdifactCharset, decodeValue } from './charset.js';
import { componentOffset, printable, type RawSegment, type Tokenized } from './reader.js';
import type { EdifactSegment } from './types.js';

/**
 * Turns raw segments into EdifactSegments: values decoded with the interchange's character set, and
 * the location of the segment and of any element that breaks the repertoire.
 */

export interface DecodeContext {
  tokens: Tokenized;
  charset: EdifactCharset | undefined;
  /** The service characters, allowed inside values under UNOA/UNOB (released). */
  service: string;
}

/** Location of element `element` (1-based), component `component` (1-based) of a raw segment. */
export function elementLocation(ctx: DecodeContext, raw: RawSegment, seg: EdifactSegment, element: number, component = 1): SourceLocation {
  const offset = componentOffset(raw, element, 0, component - 1);
  const at = ctx.tokens.lines.at(offset);
  return { ...seg.location, element, ...(component > 1 ? { component } : {}), line: at.line, column: at.column, offset };
}

/** Builds one segment; character-set problems go to `problems` with their element location. */
export function decodeSegment(ctx: DecodeContext, raw: RawSegment, index: number, problems: Problem[]): EdifactSegment {
  const at = ctx.tokens.lines.at(raw.offset);
  const location: SourceLocation = { segment: raw.tag, segmentIndex: index, line: at.line, column: at.column, offset: raw.offset };
  const elements: string[][] = [];
  const repetitions: Record<number, string[][]> = {};
  let badFound = false;
  raw.elements.slice(1).forEach((occurrences, e) => {
    const decoded = occurrences.map((components, r) =>
      components.map((text, c) => {
        if (!ctx.charset) return text;
        const v = decodeValue(text, ctx.charset, ctx.service);
        if (typeof v === 'string') return v;
        if (!badFound) problems.push(charsetProblem(ctx, raw, location, text, v.bad, e + 1, c + 1, r));
        badFound = true;
        return text;
      }),
    );
    elements.push(decoded[0] ?? ['']);
    if (decoded.length > 1) repetitions[e] = decoded;
  });
  const seg: EdifactSegment = { tag: raw.tag, elements, index, location };
  if (Object.keys(repetitions).length) seg.repetitions = repetitions;
  return seg;
}

function charsetProblem(
  ctx: DecodeContext,
  raw: RawSegment,
  location: SourceLocation,
  text: string,
  bad: number,
  element: number,
  component: number,
  repetition: number,
): Problem {
  // Exact unless a release character precedes the bad one inside the component.
  const offset = componentOffset(raw, element, repetition, component - 1) + bad;
  const at = ctx.tokens.lines.at(offset);
  const id = ctx.charset?.id ?? '';
  const composite = component > 1 || (raw.elements[element]?.[0]?.length ?? 0) > 1;
  return {
    code: 'GW_EDIFACT_CHARSET',
    message:
      `${raw.tag} element ${pad(element)}${composite ? ` component ${component}` : ''} holds "${printable(text.charAt(bad))}" ` +
      `(byte ${offset}, line ${at.line}, column ${at.column}), which ${id} does not allow: declare the character set used ` +
      `(UNOC for Latin-1, UNOW for UTF-8) or send only ${id} characters.`,
    location: { ...location, element, ...(component > 1 ? { component } : {}), line: at.line, column: at.column, offset },
    edifact: { error: '21' },
  };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Value of element `element` (1-based, element 1 follows the tag), component `component` (1-based); '' when absent. */
export function segmentValue(seg: EdifactSegment, element: number, component = 1): string {
  return seg.elements[element - 1]?.[component - 1] ?? '';
}
