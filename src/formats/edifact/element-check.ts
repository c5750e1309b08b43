import type { ErrorCode, Problem, SourceLocation } from '../../errors.js';
import { type ComponentDef, type ElementDef, layoutOf, type Representation } from './structure/elements.js';
import type { EdifactMessage, EdifactSegment } from './types.js';

/**
 * Checks the data elements of each segment of a message against its layout in the directory
 * (./structure/elements.ts): a mandatory element or component left empty, a value too long or too
 * short for its representation, a character the representation does not allow, more elements or
 * components than the segment has, an element repeated (syntax 4). Each problem carries the ISO
 * 9735 syntax error (0085) the CONTRL's UCD reports under the segment's UCS: 13 missing, 37 invalid
 * type of character, 19 invalid decimal notation, 38 missing digit in front of the decimal mark, 39
 * too long, 40 too short, 16 too many constituents, 35 too many repetitions, 12 invalid value (a
 * UNS 0081 other than D or S). Pure.
 * @see ISO 9735-1, representation of numeric values (a leading minus and the decimal mark do not
 * count toward the length; `.` and `,` are both taken as the mark, as by the reader), annex B (0085)
 */

/** More problems than this in one message are not reported: the first ones say what is wrong. */
export const MAX_ELEMENT_PROBLEMS = 20;

/** Where a segment stands (segment, position in the message, line …), for the problems found on it. */
export function segmentLocation(seg: EdifactSegment, ref: string): SourceLocation {
  const { segment, position, line, column, offset, segmentIndex } = seg.location;
  return {
    ...(segment ? { segment } : {}),
    ...(position ? { position } : {}),
    ...(segmentIndex ? { segmentIndex } : {}),
    ...(line ? { line } : {}),
    ...(column ? { column } : {}),
    ...(offset !== undefined ? { offset } : {}),
    transaction: ref,
  };
}

/** 0085 and what went wrong, for a value that breaks its representation (undefined: none). */
function valueError(value: string, r: Representation): { error: string; why: string } | undefined {
  let length = value.length;
  if (r.type === 'n') {
    let digits = 0;
    let marks = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c >= 48 && c <= 57) digits++;
      else if (c === 46 || c === 44) {
        if (digits === 0) return { error: '38', why: 'has no digit in front of its decimal mark' };
        marks++;
      } else if (!(c === 45 && i === 0)) return { error: '37', why: `holds "${value[i]}" where a numeric element allows digits only` };
    }
    if (marks > 1) return { error: '19', why: 'has more than one decimal mark' };
    if (digits === 0) return { error: '37', why: 'holds no digit' };
    length = digits;
  } else {
    if (r.type === 'a' && /[0-9]/.test(value)) return { error: '37', why: 'holds a digit where an alphabetic element allows none' };
    // Characters, not UTF-16 units (UNOW/UNOY text may hold characters beyond the BMP).
    if (length > r.max) length = [...value].length;
  }
  if (length > r.max) return { error: '39', why: `is ${length} ${r.type === 'n' ? 'digits' : 'characters'} long, more than ${r.text} allows` };
  if (length < r.min) return { error: '40', why: `is ${length} ${r.type === 'n' ? 'digits' : 'characters'} long, shorter than ${r.text} requires` };
  return undefined;
}

/** The first non-empty value of a list from `from` on (-1: none). */
function firstFilled(values: readonly string[], from: number): number {
  for (let i = from; i < values.length; i++) if (values[i] !== '') return i;
  return -1;
}

class ElementCheck {
  readonly problems: Problem[] = [];
  /** Elements (`position:element`) the reader already reported (bad characters): not checked again. */
  private readonly reported = new Set<string>();

  constructor(
    private readonly m: EdifactMessage,
    private readonly name: string,
  ) {
    for (const p of m.problems) if (p.location?.position && p.location.element) this.reported.add(`${p.location.position}:${p.location.element}`);
  }

  get full(): boolean {
    return this.problems.length >= MAX_ELEMENT_PROBLEMS;
  }

  private report(seg: EdifactSegment, code: ErrorCode, error: string, what: string, element: number, component?: number): void {
    if (this.full) return;
    const l = seg.location;
    const where = `${seg.tag} (position ${l.position}${l.line ? `, line ${l.line}` : ''}) element ${element}${component ? ` component ${component}` : ''}`;
    this.problems.push({
      code,
      message: `${this.name} message ${this.m.ref}: ${where} ${what}.`,
      location: { ...segmentLocation(seg, this.m.ref), element, ...(component ? { component } : {}) },
      edifact: { error },
    });
  }

  private value(seg: EdifactSegment, value: string, def: { id: string; repr: Representation }, element: number, component?: number): void {
    const bad = valueError(value, def.repr);
    if (bad)
      this.report(
        seg,
        bad.error === '39' || bad.error === '40' ? 'GW_EDIFACT_ELEMENT_LENGTH' : 'GW_EDIFACT_ELEMENT_VALUE',
        bad.error,
        `(${def.id} ${def.repr.text}) "${value}" ${bad.why}`,
        element,
        component,
      );
    else if (def.repr.codes && !def.repr.codes.includes(value))
      this.report(seg, 'GW_EDIFACT_ELEMENT_VALUE', '12', `(${def.id}) "${value}" is not one of ${def.repr.codes.join(', ')}`, element, component);
  }

  private element(seg: EdifactSegment, def: ElementDef, values: readonly string[], e: number): void {
    const n = e + 1;
    if (!def.components) {
      const value = values[0] ?? '';
      if (value === '') {
        if (def.mandatory) this.report(seg, 'GW_EDIFACT_ELEMENT_MISSING', '13', `(${def.id}) is mandatory but empty`, n);
      } else this.value(seg, value, def as ElementDef & { repr: Representation }, n);
      const extra = firstFilled(values, 1);
      if (extra > 0)
        this.report(
          seg,
          'GW_EDIFACT_ELEMENT_EXTRA',
          '16',
          `(${def.id}) is a simple element, but has component ${extra + 1} ("${values[extra]}")`,
          n,
          extra + 1,
        );
      return;
    }
    if (firstFilled(values, 0) < 0) {
      if (def.mandatory) this.report(seg, 'GW_EDIFACT_ELEMENT_MISSING', '13', `(${def.id}) is mandatory but empty`, n);
      return;
    }
    const components = def.components;
    for (let i = 0; i < components.length; i++) {
      const c = components[i] as ComponentDef;
      const value = values[i] ?? '';
      if (value !== '') this.value(seg, value, c, n, i + 1);
      else if (c.mandatory) this.report(seg, 'GW_EDIFACT_ELEMENT_MISSING', '13', `(${def.id} ${c.id}) is mandatory but empty`, n, i + 1);
    }
    const extra = firstFilled(values, def.components.length);
    if (extra > 0)
      this.report(
        seg,
        'GW_EDIFACT_ELEMENT_EXTRA',
        '16',
        `(${def.id}) has ${def.components.length} components, but component ${extra + 1} is "${values[extra]}"`,
        n,
        extra + 1,
      );
  }

  read(seg: EdifactSegment, layout: readonly ElementDef[]): void {
    const elements = seg.elements;
    const position = seg.location.position;
    for (let e = 0; e < layout.length && !this.full; e++) {
      if (this.reported.size && this.reported.has(`${position}:${e + 1}`)) continue;
      if (seg.repetitions?.[e]) this.report(seg, 'GW_EDIFACT_ELEMENT_EXTRA', '35', `(${(layout[e] as ElementDef).id}) repeats, but occurs once`, e + 1);
      this.element(seg, layout[e] as ElementDef, elements[e] ?? [], e);
    }
    for (let e = layout.length; e < elements.length; e++) {
      const extra = firstFilled(elements[e] as string[], 0);
      if (extra < 0) continue;
      this.report(
        seg,
        'GW_EDIFACT_ELEMENT_EXTRA',
        '16',
        `is one more than the ${layout.length} element(s) ${seg.tag} has ("${(elements[e] as string[]).join(':')}")`,
        e + 1,
      );
      break;
    }
  }
}

/**
 * The element problems of a D.96A message (its segments between UNH and UNT; a segment the
 * directory does not have is left to the structure check).
 */
export function checkMessageElements(m: EdifactMessage): Problem[] {
  if (m.version !== 'D' || m.release !== '96A') return [];
  const check = new ElementCheck(m, `${m.type} ${m.version}.${m.release}`);
  for (const seg of m.segments) {
    const layout = layoutOf(seg.tag);
    if (layout) check.read(seg, layout);
    if (check.full) break;
  }
  return check.problems;
}
