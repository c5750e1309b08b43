import { GatewayError, type SourceLocation } from '../errors.js';
import type { PathCompiler, Scalar, SourceNode, SourceValue } from './source.js';
import { decodeUtf8, lineAndColumn } from './text-source.js';

/** Deepest nesting of objects and arrays read; business documents need a handful of levels. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses a JSON payload: UTF-8 only (GW_JSON_ENCODING names the first bad byte), at most
 * MAX_JSON_DEPTH levels deep (GW_JSON_DEPTH), well-formed (GW_JSON_SYNTAX); each with line and column.
 * @see https://www.rfc-editor.org/rfc/rfc8259#section-8.1 (JSON exchanged between systems is UTF-8)
 */
export function parseJson(bytes: Uint8Array): unknown {
  const text = decodeUtf8(bytes, 'GW_JSON_ENCODING', 'JSON body', 'JSON exchanged between systems must be UTF-8 (RFC 8259); fix the encoding of the export');
  const deep = tooDeep(text, MAX_JSON_DEPTH);
  if (deep !== -1) {
    const { line, column } = lineAndColumn(text, deep);
    throw new GatewayError(
      'GW_JSON_DEPTH',
      `The JSON nests deeper than ${MAX_JSON_DEPTH} levels (line ${line}, column ${column}); the gateway reads documents up to that depth.`,
      { location: { jsonPath: '$', line, column } },
    );
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    const msg = (err as Error).message;
    const pos = /position (\d+)/.exec(msg)?.[1] ?? (/end of JSON input/.test(msg) ? String(text.length) : undefined);
    const location: SourceLocation = { jsonPath: '$', ...(pos !== undefined ? lineAndColumn(text, Number(pos)) : {}) };
    throw new GatewayError('GW_JSON_SYNTAX', `The body is not valid JSON: ${msg}.`, { location });
  }
}

/** The offset of the first `{` or `[` that opens level `max + 1` (outside strings), or -1. */
function tooDeep(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // Skip the string, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

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
