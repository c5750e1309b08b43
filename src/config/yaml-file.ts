import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { GatewayError } from '../errors.js';
import { explainSchemaErrors } from './schema-errors.js';

/**
 * A configuration file as YAML with its line counter, so every problem found in it, by the schema
 * or by a later check, is reported as `file:line:column: reason` at the node it concerns.
 */

export interface YamlFile {
  file: string;
  /** The folder relative names in the file are resolved against (its own, or the one it stands in for). */
  base?: string;
  doc: Document;
  lines: LineCounter;
}

export async function readYaml(file: string): Promise<YamlFile> {
  const text = await readFile(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const first = doc.errors[0];
  if (first) {
    const pos = lines.linePos(first.pos[0]);
    throw new GatewayError('GW_CONFIG_INVALID', `${file}:${pos.line}:${pos.col}: not valid YAML: ${first.message.split('\n')[0]}`, {
      location: { file, line: pos.line, column: pos.col },
    });
  }
  return { file, doc, lines };
}

/** Line and column of the YAML node at a JSON path (walking up to the nearest node that exists). */
function position(y: YamlFile, at: (string | number)[], atKey = false): { line: number; column: number } {
  if (atKey && at.length) {
    const parent = y.doc.getIn(at.slice(0, -1), true);
    const pair = isMap(parent) ? parent.items.find((i) => (i.key as { value?: unknown })?.value === at.at(-1)) : undefined;
    const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
    if (range) {
      const p = y.lines.linePos(range[0]);
      return { line: p.line, column: p.col };
    }
  }
  for (let n = at.length; n >= 0; n--) {
    const node = y.doc.getIn(at.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      const p = y.lines.linePos(node.range[0]);
      return { line: p.line, column: p.col };
    }
    // A scalar's key: ask the parent map for the pair so the line points at "key:".
    if (n > 0) {
      const parent = y.doc.getIn(at.slice(0, n - 1), true);
      if (isMap(parent)) {
        const pair = parent.items.find((i) => (i.key as { value?: unknown })?.value === at[n - 1]);
        const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
        if (range) {
          const p = y.lines.linePos(range[0]);
          return { line: p.line, column: p.col };
        }
      } else if (isSeq(parent)) continue;
    }
  }
  return { line: 1, column: 1 };
}

export function fail(
  y: YamlFile,
  at: (string | number)[],
  reason: string,
  code: 'GW_CONFIG_INVALID' | 'GW_CONFIG_REFERENCE' = 'GW_CONFIG_INVALID',
  atKey = false,
): GatewayError {
  const { line, column } = position(y, at, atKey);
  const where = at.length ? ` (at ${at.join('.')})` : '';
  return new GatewayError(code, `${y.file}:${line}:${column}: ${reason}${where}`, { location: { file: y.file, line, column } });
}

/** Every schema violation worth reporting, each in the file that holds its line (`fileFor` picks it along an `extends` chain). */
export function schemaFailures(errors: ErrorObject[], fileFor: (at: (string | number)[]) => YamlFile): GatewayError[] {
  return explainSchemaErrors(errors).map(({ at, reason, atKey }) => fail(fileFor(at), at, reason, 'GW_CONFIG_INVALID', atKey));
}

/** Replaces `${NAME}` in every string; a missing variable is a configuration error at its line (noted in `errs`). */
export function interpolate(y: YamlFile, value: unknown, env: Record<string, string | undefined>, errs: GatewayError[], at: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (whole, name: string) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      errs.push(fail(y, at, `environment variable ${name} is not set`));
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(y, v, env, errs, [...at, i]));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(y, v, env, errs, [...at, k])]));
  return value;
}

export async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out.sort();
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Configuration is shared by every request once loaded: frozen, so that nothing changes it by mistake. */
export function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
