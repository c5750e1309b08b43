import type { EdifactOutSegment, EdifactSeparators } from './types.js';

/**
 * Writes segments as EDIFACT text: every service character inside a value is preceded by the release
 * character, trailing empty components and elements are left out. A UNA is written first when the
 * separators are not the defaults (or when `una` asks for it).
 */
export function writeEdifact(segments: Iterable<EdifactOutSegment>, separators: EdifactSeparators, opts: { una?: boolean; lineBreak?: string } = {}): string {
  const out: string[] = [];
  if (opts.una ?? !isDefault(separators)) out.push(unaOf(separators), opts.lineBreak ?? '');
  for (const seg of segments) out.push(segmentText(seg, separators), opts.lineBreak ?? '');
  return out.join('');
}

/** `UNA` and the six service characters. */
export function unaOf(sep: EdifactSeparators): string {
  return `UNA${sep.component}${sep.element}${sep.decimal}${sep.release ?? ' '}${sep.repetition ?? ' '}${sep.segment}`;
}

function isDefault(sep: EdifactSeparators): boolean {
  return (
    sep.component === ':' &&
    sep.element === '+' &&
    sep.decimal === '.' &&
    sep.release === '?' &&
    sep.segment === "'" &&
    (sep.repetition === null || sep.repetition === '*')
  );
}

/** One segment with its terminator. */
export function segmentText(seg: EdifactOutSegment, sep: EdifactSeparators): string {
  const elements = seg.elements.map((e) => trimEmpty((Array.isArray(e) ? e : [e]).map((v) => releaseServiceCharacters(v, sep))).join(sep.component));
  return [seg.tag, ...trimEmpty(elements)].join(sep.element) + sep.segment;
}

function trimEmpty(values: string[]): string[] {
  let n = values.length;
  while (n > 0 && values[n - 1] === '') n--;
  return values.slice(0, n);
}

/** Releases service characters; without a release character they cannot be sent and become spaces. */
export function releaseServiceCharacters(value: string, sep: EdifactSeparators): string {
  const service = [sep.component, sep.element, sep.segment, sep.release, sep.repetition].filter((c): c is string => c !== null);
  let out = '';
  for (const c of value) out += service.includes(c) ? (sep.release ? sep.release + c : ' ') : c;
  return out;
}
