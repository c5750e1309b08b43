import type { PathCompiler, Scalar, SourceNode, SourceValue } from './source.js';

/**
 * JSON paths: `shipment.id`, `lines[0].sku`, `$.header.date`; `$` alone is the scope itself.
 * `^header.currency` reads from the scope, then from each enclosing scope, nearest first.
 */
export type JsonPath = (string | number)[] & { up?: boolean };

const STEP = /([^.[\]]+)|\[(\d+)\]/g;

export const jsonPaths: PathCompiler<JsonPath> = {
  value(path) {
    return compile(path);
  },
  selector(path) {
    return compile(path);
  },
};

const WHOLE = /^(?:[^.[\]]+|\[\d+\])(?:\.[^.[\]]+|\[\d+\])*$/;

function compile(path: string): JsonPath {
  let p = path.trim();
  if (p.startsWith('^')) return Object.assign(compile(p.slice(1)), { up: true });
  if (p.startsWith('$')) p = p.slice(1).replace(/^\./, '');
  if (p === '') return [];
  if (!WHOLE.test(p)) throw new Error(`"${path}" is not a JSON path; write e.g. shipment.id or lines[0].sku`);
  return [...p.matchAll(STEP)].map((m) => (m[2] !== undefined ? Number(m[2]) : (m[1] as string)));
}

function render(base: string, steps: JsonPath): string {
  return steps.reduce<string>(
    (acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : /^[A-Za-z_$][\w$]*$/.test(s) ? `${acc}.${s}` : `${acc}[${JSON.stringify(s)}]`),
    base,
  );
}

class JsonNode implements SourceNode<JsonPath> {
  constructor(
    readonly data: unknown,
    readonly jsonPath: string,
    readonly parent?: JsonNode,
  ) {}

  get location() {
    return { jsonPath: this.jsonPath };
  }

  private resolve(steps: JsonPath): unknown {
    let cur: unknown = this.data;
    for (const s of steps) {
      if (cur === null || typeof cur !== 'object') return undefined;
      cur = (cur as Record<string | number, unknown>)[s];
    }
    return cur;
  }

  get(path: JsonPath): SourceValue | undefined {
    if (path.up) {
      for (let n: JsonNode | undefined = this; n; n = n.parent) {
        const found = n.get(path.slice() as JsonPath);
        if (found) return found;
      }
      return undefined;
    }
    const v = this.resolve(path);
    if (v === undefined || v === null || v === '') return undefined;
    const location = { jsonPath: render(this.jsonPath, path) };
    if (typeof v === 'object') return { value: JSON.stringify(v), location };
    return { value: v as Scalar, location };
  }

  each(path: JsonPath): JsonNode[] {
    const v = this.resolve(path);
    const base = render(this.jsonPath, path);
    if (Array.isArray(v)) return v.map((item, i) => new JsonNode(item, `${base}[${i}]`, this));
    return v === undefined || v === null ? [] : [new JsonNode(v, base, this)];
  }

  at(path: JsonPath): JsonNode | undefined {
    const v = this.resolve(path);
    return v === undefined || v === null ? undefined : new JsonNode(v, render(this.jsonPath, path), this);
  }
}

export function jsonRoot(data: unknown): SourceNode<JsonPath> {
  return new JsonNode(data, '$');
}
