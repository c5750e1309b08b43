import { COMPOSITES, ELEMENTS, SEGMENTS } from './elements-d96a.js';

/**
 * Segment layouts of the D.96A directory (./elements-d96a.ts) read into the shapes the element
 * check (../element-check.ts) walks: each segment's data elements, each composite's components, each
 * simple element's representation.
 */

/** A simple element's representation: `an..35` is type an, min 1, max 35; `n3` is min 3, max 3. */
export interface Representation {
  type: 'a' | 'n' | 'an';
  min: number;
  max: number;
  text: string;
  /** The only values allowed (a service code list), when the gateway checks them. */
  codes?: readonly string[];
}

export interface ComponentDef {
  id: string;
  mandatory: boolean;
  repr: Representation;
}

/** A data element of a segment: simple (`repr`) or composite (`components`). */
export interface ElementDef {
  id: string;
  mandatory: boolean;
  repr?: Representation;
  components?: readonly ComponentDef[];
}

/** Service code lists checked: UNS 0081 section identification (ISO 9735). */
const CODES: Record<string, readonly string[]> = { '0081': ['D', 'S'] };

const REPR = /^(an|a|n)(\.\.)?(\d+)$/;

/** `ID STATUS` or `ID REPR` pairs of one line after its first word. */
function pairs(words: string[], what: string): [string, string][] {
  if (words.length % 2) throw new Error(`D.96A ${what}: "${words.join(' ')}" is not a list of pairs`);
  const out: [string, string][] = [];
  for (let i = 0; i < words.length; i += 2) out.push([words[i] as string, words[i + 1] as string]);
  return out;
}

const lines = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0]);

const mandatory = (status: string, where: string): boolean => {
  if (status !== 'M' && status !== 'C') throw new Error(`D.96A ${where}: status "${status}" is not M or C`);
  return status === 'M';
};

function representations(): Map<string, Representation> {
  const out = new Map<string, Representation>();
  for (const [id, text] of pairs(lines(ELEMENTS).flat(), 'elements')) {
    const m = REPR.exec(text);
    if (!m) throw new Error(`D.96A element ${id}: "${text}" is not a representation`);
    const max = Number(m[3]);
    const codes = CODES[id];
    out.set(id, { type: m[1] as Representation['type'], min: m[2] ? 1 : max, max, text, ...(codes ? { codes } : {}) });
  }
  return out;
}

function layouts(): Map<string, readonly ElementDef[]> {
  const reprs = representations();
  const repr = (id: string): Representation => {
    const r = reprs.get(id);
    if (!r) throw new Error(`D.96A: element ${id} has no representation`);
    return r;
  };
  const composites = new Map<string, ComponentDef[]>();
  for (const [id, ...rest] of lines(COMPOSITES))
    composites.set(
      id as string,
      pairs(rest, id as string).map(([c, s]) => ({ id: c, mandatory: mandatory(s, `${id} ${c}`), repr: repr(c) })),
    );
  const out = new Map<string, readonly ElementDef[]>();
  for (const [tag, ...rest] of lines(SEGMENTS))
    out.set(
      tag as string,
      pairs(rest, tag as string).map(([id, s]) => {
        const components = id.startsWith('C') ? composites.get(id) : undefined;
        if (id.startsWith('C') && !components) throw new Error(`D.96A ${tag}: composite ${id} is not listed`);
        return { id, mandatory: mandatory(s, `${tag} ${id}`), ...(components ? { components } : { repr: repr(id) }) };
      }),
    );
  return out;
}

const LAYOUTS = layouts();

/** The data elements of a D.96A segment, in order (undefined: a segment the gateway has no layout for). */
export function layoutOf(tag: string): readonly ElementDef[] | undefined {
  return LAYOUTS.get(tag);
}
