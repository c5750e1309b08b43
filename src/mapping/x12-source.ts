import type { X12Segment, X12TransactionSet } from '../formats/x12/parse.js';
import type { PathCompiler, SourceNode, SourceValue } from './source.js';

/**
 * X12 paths (see docs/mapping.md):
 *   `BSN02`, `BSN.02`        element 02 of the first BSN in the current scope
 *   `REF[BM].02`             first REF whose element 01 is BM
 *   `DTM[01=011].02`         explicit qualifier position
 *   `N1[ST].04`, `C001.02.1` component 1 of element 02: `SEG.NN.C`
 *   `LIN(UP)`                the element after the first element equal to UP (qualifier/value pairs)
 *   `^PRF.01`                this scope, then its enclosing HL levels, nearest first
 *   `HL[S]/TD5.03`           first HL level S below this scope, then the rest of the path there
 * Selectors: `HL[O]` (the nearest HL levels O below this scope) or a loop's first tag (`IT1`, or
 * `N1[ST]` for loops whose element 01 is ST), the loop running to the next same tag or a tag in `until`.
 */
export type X12Path =
  | { kind: 'value'; up: boolean; hl: string[]; tag: string; qualifier?: { pos: number; value: string }; pair?: string; element: number; component?: number }
  | { kind: 'hl'; hl: string[] }
  | { kind: 'loop'; hl: string[]; tag: string; qualifier?: string; until: string[] };

const VALUE = /^(\^)?((?:HL\[[A-Z0-9]+\]\/)*)([A-Z][A-Z0-9]{1,2})(?:\[(?:(\d{2})=)?([^\]]+)\]|\(([^)]+)\))?(?:\.?(\d{2})(?:\.(\d{1,2}))?)?$/;
const SELECTOR = /^((?:HL\[[A-Z0-9]+\]\/)*)(?:HL\[([A-Z0-9]+)\]|([A-Z][A-Z0-9]{1,2})(?:\[([^\]]+)\])?)$/;

const hlSteps = (s: string): string[] =>
  s
    ? s
        .split('/')
        .filter(Boolean)
        .map((x) => x.slice(3, -1))
    : [];

export const x12Paths: PathCompiler<X12Path> = {
  value(path) {
    const m = VALUE.exec(path.trim());
    if (!m) throw new Error(`"${path}" is not an X12 path; write e.g. BSN02, REF[BM].02, DTM[011].02, LIN(UP) or ^PRF.01`);
    const [, up, hl, tag, qpos, qval, pair, el, comp] = m;
    if (pair === undefined && el === undefined) throw new Error(`"${path}" names no element; add one, e.g. ${tag}.02`);
    if (pair !== undefined && el !== undefined) throw new Error(`"${path}": a pair lookup ${tag}(${pair}) takes no element number`);
    return {
      kind: 'value',
      up: Boolean(up),
      hl: hlSteps(hl ?? ''),
      tag: tag as string,
      ...(qval !== undefined ? { qualifier: { pos: qpos ? Number(qpos) : 1, value: qval } } : {}),
      ...(pair !== undefined ? { pair } : {}),
      element: el ? Number(el) : 0,
      ...(comp ? { component: Number(comp) } : {}),
    };
  },
  selector(path, until = []) {
    const m = SELECTOR.exec(path.trim());
    if (!m) throw new Error(`"${path}" is not an X12 selector; write HL[O] for hierarchical levels or a loop's first segment tag such as IT1`);
    const [, hl, level, tag, qualifier] = m;
    if (level !== undefined) return { kind: 'hl', hl: [...hlSteps(hl ?? ''), level] };
    return { kind: 'loop', hl: hlSteps(hl ?? ''), tag: tag as string, ...(qualifier !== undefined ? { qualifier } : {}), until };
  },
};

/** Tags of the 856 summary area; they belong to the transaction, not to the last HL level. */
const SUMMARY_TAGS = new Set(['CTT']);

class X12Node implements SourceNode<X12Path> {
  readonly children: X12Node[] = [];
  constructor(
    readonly set: X12TransactionSet,
    readonly segments: X12Segment[],
    readonly parent: X12Node | undefined,
    readonly level: string | undefined,
  ) {}

  get location() {
    const first = this.segments[0];
    return first ? { segment: first.tag, position: first.position, line: first.line, transaction: this.set.control } : { transaction: this.set.control };
  }

  get(path: X12Path): SourceValue | undefined {
    if (path.kind !== 'value') return undefined;
    const scope = path.hl.length ? this.descend(path.hl)[0] : this;
    if (!scope) return undefined;
    for (let node: X12Node | undefined = scope; node; node = path.up ? node.parent : undefined) {
      const found = node.lookup(path);
      if (found) return found;
    }
    return undefined;
  }

  private lookup(path: Extract<X12Path, { kind: 'value' }>): SourceValue | undefined {
    for (const seg of this.segments) {
      if (seg.tag !== path.tag) continue;
      if (path.qualifier && (seg.elements[path.qualifier.pos - 1] ?? '').trim() !== path.qualifier.value) continue;
      let index = path.element - 1;
      if (path.pair !== undefined) {
        const q = seg.elements.findIndex((e) => e.trim() === path.pair);
        if (q === -1) continue;
        index = q + 1;
      }
      let raw = seg.elements[index];
      if (raw !== undefined && path.component) raw = raw.split(this.set.componentSeparator)[path.component - 1];
      const value = raw?.trim();
      if (!value) continue;
      return { value, location: { segment: seg.tag, position: seg.position, element: index + 1, line: seg.line, transaction: this.set.control } };
    }
    return undefined;
  }

  /** The nearest HL descendants matching each level code in turn. */
  private descend(levels: string[]): X12Node[] {
    let nodes: X12Node[] = [this];
    for (const level of levels) nodes = nodes.flatMap((n) => n.nearest(level));
    return nodes;
  }

  private nearest(level: string): X12Node[] {
    const out: X12Node[] = [];
    for (const c of this.children) {
      if (c.level === level) out.push(c);
      else out.push(...c.nearest(level));
    }
    return out;
  }

  each(sel: X12Path): X12Node[] {
    if (sel.kind === 'hl') return this.descend(sel.hl);
    if (sel.kind !== 'loop') return [];
    const scopes = sel.hl.length ? this.descend(sel.hl) : [this];
    const loops: X12Node[] = [];
    for (const scope of scopes) {
      let current: X12Segment[] | undefined;
      for (const seg of scope.segments) {
        if (seg.tag === sel.tag) {
          current = [seg];
          if (sel.qualifier === undefined || (seg.elements[0] ?? '').trim() === sel.qualifier) loops.push(new X12Node(this.set, current, scope, undefined));
        } else if (sel.until.includes(seg.tag)) current = undefined;
        else current?.push(seg);
      }
    }
    return loops;
  }

  at(sel: X12Path): X12Node | undefined {
    return this.each(sel)[0];
  }
}

/** Builds the scope tree of a transaction set: the HL hierarchy (HL01 id, HL02 parent, HL03 level). */
export function x12Root(set: X12TransactionSet): SourceNode<X12Path> {
  const rootSegments: X12Segment[] = [];
  const root = new X12Node(set, rootSegments, undefined, undefined);
  const byId = new Map<string, X12Node>();
  let current: X12Node | undefined;
  for (const seg of set.segments) {
    if (seg.tag === 'HL') {
      const parent = byId.get((seg.elements[1] ?? '').trim()) ?? root;
      current = new X12Node(set, [seg], parent, (seg.elements[2] ?? '').trim());
      parent.children.push(current);
      byId.set((seg.elements[0] ?? '').trim(), current);
    } else if (current && !SUMMARY_TAGS.has(seg.tag)) current.segments.push(seg);
    else rootSegments.push(seg);
  }
  return root;
}
