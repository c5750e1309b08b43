import type { DocumentType } from '../types.js';
import { jsonPaths, type JsonPath } from './json-source.js';
import type { PathCompiler, Scalar } from './source.js';
import type { CodeLists, TransformSpec } from './transforms.js';
import { x12Paths, type X12Path } from './x12-source.js';

/** A mapping profile as written in YAML (already checked against src/config/mapping.schema.json). */
export interface RawProfile {
  id: string;
  version: number;
  description?: string;
  source: { format: 'x12'; transaction: string; versions?: string[] } | { format: 'json'; match: { path: string; equals: Scalar } };
  target: { type: DocumentType; version: number };
  codeLists?: CodeLists;
  fields: Record<string, RawRule>;
}

export type RawRule =
  | string
  | { from: string | string[]; transform?: TransformSpec | TransformSpec[]; default?: Scalar; required?: boolean }
  | { value: Scalar }
  | { at?: string; fields: Record<string, RawRule> }
  | { each: string; until?: string[]; required?: boolean; fields: Record<string, RawRule> };

export type Rule<P> =
  | { kind: 'value'; name: string; rule: string; paths: P[]; transforms: TransformSpec[]; default?: Scalar; required: boolean }
  | { kind: 'const'; name: string; rule: string; value: Scalar }
  | { kind: 'object'; name: string; rule: string; at?: P; fields: Rule<P>[] }
  | { kind: 'array'; name: string; rule: string; each: P; required: boolean; fields: Rule<P>[] };

export interface CompiledProfile<P = unknown> {
  id: string;
  version: number;
  source: RawProfile['source'];
  target: RawProfile['target'];
  codeLists: CodeLists;
  fields: Rule<P>[];
  /** JSON source only: the discriminator path. */
  match?: { path: P; equals: Scalar };
  file: string;
}

/** A rule whose path does not compile; `rule` is the dotted path of the rule inside the profile. */
export class ProfileRuleError extends Error {
  constructor(readonly rule: string[], message: string) {
    super(message);
  }
}

/** Compiles paths and checks code-list references, so that run time never meets a syntax error. */
export function compileProfile(raw: RawProfile, file: string): CompiledProfile {
  const paths: PathCompiler<X12Path | JsonPath> = raw.source.format === 'x12' ? x12Paths : jsonPaths;
  const codeLists = raw.codeLists ?? {};
  const fields = compileFields(raw.fields, ['fields'], paths, codeLists);
  const compiled: CompiledProfile = { id: raw.id, version: raw.version, source: raw.source, target: raw.target, codeLists, fields, file };
  if (raw.source.format === 'json') {
    compiled.match = { path: attempt(['source', 'match', 'path'], () => paths.value(raw.source.format === 'json' ? raw.source.match.path : '')), equals: raw.source.match.equals };
  }
  return compiled;
}

function attempt<T>(at: string[], fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ProfileRuleError(at, (err as Error).message);
  }
}

function compileFields<P>(fields: Record<string, RawRule>, at: string[], paths: PathCompiler<P>, codeLists: CodeLists): Rule<P>[] {
  return Object.entries(fields).map(([name, raw]) => {
    const here = [...at, name];
    const rule = here.join('.');
    if (typeof raw === 'string') return { kind: 'value', name, rule, paths: [attempt(here, () => paths.value(raw))], transforms: [], required: false };
    if ('value' in raw) return { kind: 'const', name, rule, value: raw.value };
    if ('from' in raw) {
      const transforms = raw.transform === undefined ? [] : Array.isArray(raw.transform) ? raw.transform : [raw.transform];
      transforms.forEach((t, i) => {
        if (typeof t === 'object' && 'codeList' in t && !codeLists[t.codeList]) {
          throw new ProfileRuleError([...here, 'transform', ...(Array.isArray(raw.transform) ? [String(i)] : [])], `code list "${t.codeList}" is not defined under codeLists`);
        }
      });
      return {
        kind: 'value', name, rule,
        paths: (Array.isArray(raw.from) ? raw.from : [raw.from]).map((f, i) => attempt([...here, 'from', ...(Array.isArray(raw.from) ? [String(i)] : [])], () => paths.value(f))),
        transforms,
        ...(raw.default !== undefined ? { default: raw.default } : {}),
        required: raw.required ?? false,
      };
    }
    if ('each' in raw) {
      return {
        kind: 'array', name, rule,
        each: attempt([...here, 'each'], () => paths.selector(raw.each, raw.until)),
        required: raw.required ?? false,
        fields: compileFields(raw.fields, [...here, 'fields'], paths, codeLists),
      };
    }
    const at2 = raw.at;
    return {
      kind: 'object', name, rule,
      ...(at2 !== undefined ? { at: attempt([...here, 'at'], () => paths.selector(at2)) } : {}),
      fields: compileFields(raw.fields, [...here, 'fields'], paths, codeLists),
    };
  });
}
