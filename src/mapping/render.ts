import { XMLBuilder } from 'fast-xml-parser';
import type { Problem } from '../errors.js';
import type { EdifactOutSegment } from '../formats/edifact/types.js';
import { evaluateProfile } from './engine.js';
import { jsonRoot } from './json-source.js';
import type { CompiledProfile, OutboundProfile } from './profile.js';

/** What an outbound profile may read besides the document: the message being made and the partner. */
export interface RenderContext {
  message: { id: string; createdAt: string; number?: string };
  partner: Record<string, unknown>;
}

type EdifactOut = EdifactOutSegment;

export type Rendered =
  | { format: 'x12'; segments: [string, ...string[]][]; problems: Problem[] }
  | { format: 'edifact'; segments: EdifactOut[]; problems: Problem[] }
  | { format: 'xml' | 'json'; text: string; problems: Problem[] };

const SEGMENT = /^([A-Z][A-Z0-9]{1,2})(?:_[A-Za-z0-9]+)?$/;
const ELEMENT = /^\d{2}$/;

/**
 * X12 from the evaluated profile: keys are segment tags (`N1_ST` for a second N1 at one level),
 * their objects map element positions (`"01"`) to values, arrays repeat, other objects are groups
 * walked in order. A segment whose rules all came out empty is left out.
 */
function segmentsOf(value: unknown, out: [string, ...string[]][]): void {
  if (Array.isArray(value)) {
    for (const v of value) segmentsOf(v, out);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const tag = SEGMENT.exec(key)?.[1];
    const isSegment = tag !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => ELEMENT.test(k));
    if (!isSegment) {
      segmentsOf(v, out);
      continue;
    }
    const elements = v as Record<string, unknown>;
    const last = Math.max(...Object.keys(elements).map(Number));
    const seg: [string, ...string[]] = [tag];
    for (let i = 1; i <= last; i++) {
      const e = elements[String(i).padStart(2, '0')];
      seg.push(e === undefined ? '' : typeof e === 'number' ? String(Number(e.toFixed(6))) : String(e));
    }
    out.push(seg);
  }
}

const EDIFACT_SEGMENT = /^([A-Z][A-Z0-9]{2})(?:_[A-Za-z0-9]+)?$/;
/** `"02"` an element, `"01.2"` component 2 of element 01. */
const EDIFACT_ELEMENT = /^(\d{2})(?:\.(\d{1,2}))?$/;

const text = (v: unknown): string => (v === undefined ? '' : typeof v === 'number' ? String(Number(v.toFixed(6))) : String(v));

function edifactSegment(tag: string, fields: Record<string, unknown>): EdifactOut {
  const elements: string[][] = [];
  for (const [key, v] of Object.entries(fields)) {
    const [, e, c] = EDIFACT_ELEMENT.exec(key) as RegExpExecArray;
    const components = (elements[Number(e) - 1] ??= []);
    components[(c ? Number(c) : 1) - 1] = text(v);
  }
  return {
    tag,
    elements: Array.from(elements, (comps) => Array.from(comps ?? [], (x) => x ?? '')).map((comps) => (comps.length === 1 ? (comps[0] as string) : comps)),
  };
}

/** EDIFACT from the evaluated profile: like X12, with element keys `"02"` or `"01.2"` (element.component). */
function edifactSegmentsOf(value: unknown, out: EdifactOut[]): void {
  if (Array.isArray(value)) {
    for (const v of value) edifactSegmentsOf(v, out);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const tag = EDIFACT_SEGMENT.exec(key)?.[1];
    const isSegment = tag !== undefined && v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((k) => EDIFACT_ELEMENT.test(k));
    if (isSegment) out.push(edifactSegment(tag, v as Record<string, unknown>));
    else edifactSegmentsOf(v, out);
  }
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

/**
 * Renders a canonical document with an outbound profile. Pure: the message id and time come in the
 * context. Problems (a required value missing, a code not in a list) are returned, nothing is sent.
 */
export function renderOutbound(profile: OutboundProfile, document: unknown, context: RenderContext): Rendered {
  const root = jsonRoot({ document, message: context.message, partner: context.partner });
  const { document: out, problems } = evaluateProfile(profile as unknown as CompiledProfile, root);
  if (profile.target.format === 'x12') {
    const segments: [string, ...string[]][] = [];
    segmentsOf(out, segments);
    return { format: 'x12', segments, problems };
  }
  if (profile.target.format === 'edifact') {
    const segments: EdifactOut[] = [];
    edifactSegmentsOf(out, segments);
    return { format: 'edifact', segments, problems };
  }
  if (profile.target.format === 'json') return { format: 'json', text: `${JSON.stringify(out, null, 2)}\n`, problems };
  const decl = '<?xml version="1.0" encoding="UTF-8"?>\n';
  const doctype = profile.target.doctype ? `${profile.target.doctype}\n` : '';
  return { format: 'xml', text: `${decl}${doctype}${builder.build(out) as string}`, problems };
}
