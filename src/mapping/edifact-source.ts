import type { SourceLocation } from '../errors.js';
import { allGroups, type GroupDef, type MessageStructure, structureOf } from '../formats/edifact/structure/index.js';
import type { PathCompiler, SourceNode, SourceValue } from './source.js';

/**
 * EDIFACT paths (see docs/mapping.md), read inside a message whose segment groups come from its
 * structure table (src/formats/edifact/structure/):
 *   `BGM.02`, `BGM.01.1`        element 02 (component 1), element 01 component 1 of the first BGM
 *   `DTM[137].01.2`             the first DTM whose element 01 component 1 is 137, component 2
 *   `NAD[SU].02.1`              in the groups below the scope (NAD opens SG2); a tag of the
 *                               scope's own group (a line's QTY) is read in that group only
 *   `SG10/LIN/QTY[12].01.2`     into the nearest SG10, then its LIN group (SG15), then the value
 *   `SG2[SU]/CTA.02.2`          a group whose opening segment has qualifier SU
 *   `LIN(EN)`, `PIA(SA)`        component 1 of the first element whose component 2 is EN / SA
 *   `^RFF[ON].01.2`             this scope, then its enclosing groups, nearest first
 *   `/SG1[ON]/RFF.01.2`         from the message, whatever the scope
 * Selectors (`each`, `at`): `SG15`, `LIN` (the group LIN opens), `SG2[BY]`, `SG10/SG15`: the
 * nearest such groups below the scope (groups in between are passed through).
 */
interface Step {
  /** `SG15`, or a tag whose group is meant (`LIN`). */
  group?: string;
  tag?: string;
  qualifier?: string;
}

export type EdifactPath =
  | { kind: 'value'; up: boolean; absolute: boolean; steps: Step[]; tag: string; qualifier?: string; pair?: string; element: number; component: number }
  | { kind: 'group'; absolute: boolean; steps: Step[] };

/** What the source needs of a segment: the reader's EdifactSegment has this shape. */
export interface EdifactSegmentLike {
  tag: string;
  elements: string[][];
  location: SourceLocation;
}

/** What the source needs of a message: the reader's EdifactMessage has this shape. */
export interface EdifactMessageLike {
  ref: string;
  type: string;
  version: string;
  release: string;
  segments: EdifactSegmentLike[];
}

const STEP = /^(?:(SG\d{1,2})|([A-Z][A-Z0-9]{2}))(?:\[([^\]]+)\])?$/;
const VALUE = /^([A-Z][A-Z0-9]{2})(?:\[([^\]]+)\]|\(([^)]+)\))?(?:\.(\d{1,2})(?:\.(\d{1,2}))?)?$/;

function compileStep(text: string, structure: MessageStructure, groups: Set<string>, triggers: Set<string>): Step {
  const m = STEP.exec(text);
  if (!m) throw new Error(`"${text}" is not a group step; write SG15, SG2[SU] or the tag that opens the group (LIN, NAD[SU])`);
  const [, group, tag, qualifier] = m;
  const where = `${structure.type} ${structure.version}${structure.release}`;
  if (group && !groups.has(group)) throw new Error(`${where} has no segment group ${group}; its groups are ${[...groups].join(', ')}`);
  if (tag && !triggers.has(tag)) throw new Error(`no segment group of ${where} opens with ${tag}; groups open with ${[...triggers].join(', ')}`);
  return { ...(group ? { group } : { tag }), ...(qualifier !== undefined ? { qualifier } : {}) };
}

/** The path compiler for messages of one structure; group names and tags are checked against it. */
export function edifactPaths(structure: MessageStructure): PathCompiler<EdifactPath> {
  const defs = allGroups(structure);
  const groups = new Set(defs.map((d) => d.def.name));
  const triggers = new Set(defs.map((d) => d.def.trigger as string));
  const steps = (parts: string[]) => parts.map((p) => compileStep(p, structure, groups, triggers));
  return {
    value(path) {
      const text = path.trim();
      const up = text.startsWith('^');
      const absolute = text.startsWith('/');
      const parts = (up || absolute ? text.slice(1) : text).split('/');
      const m = VALUE.exec(parts.pop() ?? '');
      if (!m) throw new Error(`"${path}" is not an EDIFACT path; write e.g. BGM.02, DTM[137].01.2, NAD[SU].02.1, SG10/LIN/QTY[12].01.2 or PIA(SA)`);
      const [, tag, qualifier, pair, el, comp] = m;
      if (pair === undefined && el === undefined) throw new Error(`"${path}" names no element; add one, e.g. ${tag}.02`);
      if (pair !== undefined && el !== undefined) throw new Error(`"${path}": a pair lookup ${tag}(${pair}) takes no element number`);
      return {
        kind: 'value',
        up,
        absolute,
        steps: steps(parts),
        tag: tag as string,
        ...(qualifier !== undefined ? { qualifier } : {}),
        ...(pair !== undefined ? { pair } : {}),
        element: el ? Number(el) : 0,
        component: comp ? Number(comp) : 1,
      };
    },
    selector(path) {
      const text = path.trim();
      const absolute = text.startsWith('/');
      return { kind: 'group', absolute, steps: steps((absolute ? text.slice(1) : text).split('/')) };
    },
  };
}

const opensWith = (seg: EdifactSegmentLike, qualifier: string | undefined) => qualifier === undefined || (seg.elements[0]?.[0] ?? '').trim() === qualifier;

class EdifactNode implements SourceNode<EdifactPath> {
  readonly segments: EdifactSegmentLike[] = [];
  readonly children: EdifactNode[] = [];
  /** Values looked up in this group and below, by compiled path (see lookup). */
  private readonly looked = new Map<EdifactPath, SourceValue | undefined>();
  constructor(
    readonly def: GroupDef,
    readonly parent: EdifactNode | undefined,
    readonly ref: string,
  ) {}

  get location(): SourceLocation {
    const first = this.segments[0];
    return first ? { ...first.location, transaction: this.ref } : { transaction: this.ref };
  }

  get(path: EdifactPath): SourceValue | undefined {
    if (path.kind !== 'value') return undefined;
    const from = path.absolute ? this.root() : this;
    const scope = path.steps.length ? from.descend(path.steps)[0] : from;
    for (let node: EdifactNode | undefined = scope; node; node = path.up ? node.parent : undefined) {
      const found = node.lookup(path);
      if (found) return found;
    }
    return undefined;
  }

  /**
   * A tag the scope's own group holds is read there only (a message-level DTM is not a line's DTM);
   * any other tag in the groups below, in document order (`NAD[SU]` from the message finds SG2).
   * Remembered per compiled path: every line asking the message for a value it lacks (`^`) would
   * otherwise search all the lines again, quadratic in a message of thousands of lines.
   */
  private lookup(path: Extract<EdifactPath, { kind: 'value' }>): SourceValue | undefined {
    if (this.looked.has(path)) return this.looked.get(path);
    const found = this.search(path);
    this.looked.set(path, found);
    return found;
  }

  private search(path: Extract<EdifactPath, { kind: 'value' }>): SourceValue | undefined {
    for (const seg of this.segments) {
      const found = read(seg, path, this.ref);
      if (found) return found;
    }
    if (this.def.trigger === path.tag || this.def.segments.includes(path.tag)) return undefined;
    for (const child of this.children) {
      const found = child.lookup(path);
      if (found) return found;
    }
    return undefined;
  }

  private matches(step: Step): boolean {
    const trigger = this.segments[0];
    if (!trigger || (step.group ? this.def.name !== step.group : this.def.trigger !== step.tag)) return false;
    return opensWith(trigger, step.qualifier);
  }

  private nearest(step: Step): EdifactNode[] {
    return this.children.flatMap((c) => (c.matches(step) ? [c] : c.nearest(step)));
  }

  private descend(steps: Step[]): EdifactNode[] {
    let nodes: EdifactNode[] = [this];
    for (const step of steps) nodes = nodes.flatMap((n) => n.nearest(step));
    return nodes;
  }

  each(sel: EdifactPath): EdifactNode[] {
    if (sel.kind !== 'group') return [];
    return (sel.absolute ? this.root() : this).descend(sel.steps);
  }

  private root(): EdifactNode {
    return this.parent ? this.parent.root() : this;
  }

  at(sel: EdifactPath): EdifactNode | undefined {
    return this.each(sel)[0];
  }
}

function read(seg: EdifactSegmentLike, path: Extract<EdifactPath, { kind: 'value' }>, ref: string): SourceValue | undefined {
  if (seg.tag !== path.tag || (path.qualifier !== undefined && !opensWith(seg, path.qualifier))) return undefined;
  let element = path.element - 1;
  let component = path.component - 1;
  if (path.pair !== undefined) {
    element = seg.elements.findIndex((e) => (e[1] ?? '').trim() === path.pair);
    component = 0;
    if (element === -1) return undefined;
  }
  const value = seg.elements[element]?.[component]?.trim();
  if (!value) return undefined;
  return { value, location: { ...seg.location, element: element + 1, ...(component > 0 ? { component: component + 1 } : {}), transaction: ref } };
}

/** Where a segment goes: the nearest open group (or the message) that holds its tag or opens a group with it. */
function place(stack: EdifactNode[], seg: EdifactSegmentLike, known: Set<string>): void {
  for (let depth = stack.length - 1; depth >= 0; depth--) {
    const node = stack[depth] as EdifactNode;
    const child = node.def.groups.find((g) => g.trigger === seg.tag);
    if (child) {
      stack.length = depth + 1;
      const opened = new EdifactNode(child, node, node.ref);
      opened.segments.push(seg);
      node.children.push(opened);
      stack.push(opened);
      return;
    }
    if (node.def.segments.includes(seg.tag)) {
      stack.length = depth + 1;
      node.segments.push(seg);
      return;
    }
  }
  // A tag the structure does not know (a later directory's segment): kept where the reading is.
  if (!known.has(seg.tag)) (stack[stack.length - 1] as EdifactNode).segments.push(seg);
  else (stack[0] as EdifactNode).segments.push(seg);
}

/**
 * Builds the group tree of one message from its structure table. Returns undefined when the
 * gateway has no table for the message's type, version and release.
 */
export function edifactRoot(message: EdifactMessageLike): SourceNode<EdifactPath> | undefined {
  const structure = structureOf(message.type, message.version, message.release);
  if (!structure) return undefined;
  const known = new Set([...structure.root.segments, ...allGroups(structure).flatMap((g) => [g.def.trigger as string, ...g.def.segments])]);
  const root = new EdifactNode(structure.root, undefined, message.ref);
  const stack: EdifactNode[] = [root];
  for (const seg of message.segments) place(stack, seg, known);
  return root;
}
