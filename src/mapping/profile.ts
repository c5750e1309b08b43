import type { DocumentType } from '../types.js';
import { structureOf, STRUCTURES } from '../formats/edifact/structure/index.js';
import { csvPaths, type CsvOptions } from './csv-source.js';
import { edifactPaths } from './edifact-source.js';
import { jsonPaths } from './json-source.js';
import type { PathCompiler, Scalar } from './source.js';
import { checkZone, datePattern, type CodeLists, type TransformContext, type TransformSpec, type XrefTable } from './transforms.js';
import { x12Paths } from './x12-source.js';
import { xmlPaths } from './xml-source.js';

export type SourceSpec =
  | { format: 'x12'; transaction: string; versions?: string[]; decimal?: '.' | ',' }
  | { format: 'edifact'; message: string; version: string; release: string; association?: string; decimal?: '.' | ',' }
  | { format: 'json'; match: { path: string; equals: Scalar }; decimal?: '.' | ',' }
  | { format: 'xml'; root: string; decimal?: '.' | ',' }
  | ({ format: 'csv'; match?: { columns?: string[]; fileName?: string }; decimal?: '.' | ',' } & Partial<CsvOptions>)
  | { format: 'canonical'; type: DocumentType; version: number; decimal?: '.' | ',' };

/** What an outbound profile renders: an X12 set body, an EDIFACT message body, an XML document or a JSON document. */
export type OutboundTarget =
  | { format: 'x12'; transaction: string; functionalId?: string }
  | { format: 'edifact'; message: string; version: string; release: string; agency?: string; association?: string }
  | { format: 'xml'; doctype?: string }
  | { format: 'json' };

/** A mapping profile as written in YAML (already checked against src/config/mapping.schema.json). */
export interface RawProfile {
  id: string;
  version: number;
  description?: string;
  source: SourceSpec;
  target: { type: DocumentType; version: number } | OutboundTarget;
  codeLists?: CodeLists;
  xref?: Record<string, { file: string; key: string }>;
  fields: Record<string, RawRule>;
}

export interface RawWhen {
  path: string;
  equals?: Scalar;
  in?: Scalar[];
  exists?: boolean;
}

export interface RawUnits {
  to: string;
  quantity?: string;
  unit?: string;
  price?: string;
  factors?: Record<string, number>;
  perItem?: Record<string, { xref: string; by: string; column: string }>;
}

type Common = { when?: RawWhen };
export type RawRule =
  | string
  | (Common & { from: string | string[]; transform?: TransformSpec | TransformSpec[]; default?: Scalar; required?: boolean })
  | (Common & { concat: string[]; separator?: string; transform?: TransformSpec | TransformSpec[]; required?: boolean })
  | (Common & { value: Scalar })
  | (Common & { at?: string; units?: RawUnits; fields: Record<string, RawRule> })
  | (Common & { each: string; until?: string[]; required?: boolean; units?: RawUnits; fields: Record<string, RawRule> })
  | (Common & { list: { when?: RawWhen; fields: Record<string, RawRule> }[]; required?: boolean });

export interface When<P> {
  path: P;
  equals?: Scalar[];
  exists: boolean;
}

export type Units = Required<Pick<RawUnits, 'to' | 'quantity' | 'unit' | 'factors' | 'perItem'>> & { price?: string; rule: string };

type Base<P> = { name: string; rule: string; when?: When<P> };
export type Rule<P> =
  | (Base<P> & { kind: 'value'; paths: P[]; transforms: TransformSpec[]; default?: Scalar; required: boolean })
  | (Base<P> & { kind: 'concat'; paths: P[]; separator: string; transforms: TransformSpec[]; required: boolean })
  | (Base<P> & { kind: 'const'; value: Scalar })
  | (Base<P> & { kind: 'object'; at?: P; units?: Units; fields: Rule<P>[] })
  | (Base<P> & { kind: 'array'; each: P; required: boolean; units?: Units; fields: Rule<P>[] })
  | (Base<P> & { kind: 'list'; entries: { when?: When<P>; fields: Rule<P>[] }[]; required: boolean });

export interface CompiledProfile<P = unknown> {
  id: string;
  version: number;
  source: Exclude<SourceSpec, { format: 'canonical' }>;
  target: { type: DocumentType; version: number };
  /** Code lists, cross-reference tables and number format: what transforms may read. */
  context: TransformContext;
  fields: Rule<P>[];
  /** JSON source only: the discriminator path. */
  match?: { path: P; equals: Scalar };
  /** XML source only: the element that must be present for the profile to apply. */
  root?: P;
  file: string;
}

/** A rule whose path does not compile; `rule` is the dotted path of the rule inside the profile. */
export class ProfileRuleError extends Error {
  constructor(
    readonly rule: (string | number)[],
    message: string,
  ) {
    super(message);
  }
}

/** An outbound profile: renders a canonical document in a partner's format. */
export interface OutboundProfile {
  id: string;
  version: number;
  source: Extract<SourceSpec, { format: 'canonical' }>;
  target: OutboundTarget;
  context: TransformContext;
  fields: Rule<unknown>[];
  file: string;
}

function pathsFor(source: SourceSpec): PathCompiler<unknown> {
  if (source.format === 'edifact') {
    const structure = structureOf(source.message, source.version, source.release);
    if (!structure)
      throw new ProfileRuleError(
        ['source', 'message'],
        `the gateway has no segment-group table for ${source.message} ${source.version}${source.release}; ` +
          `it knows ${STRUCTURES.map((s) => `${s.type} ${s.version}${s.release}`).join(', ')}`,
      );
    return edifactPaths(structure) as PathCompiler<unknown>;
  }
  return { x12: x12Paths, json: jsonPaths, xml: xmlPaths, csv: csvPaths, canonical: jsonPaths }[source.format] as PathCompiler<unknown>;
}

/** Compiles an outbound profile (source.format: canonical); paths read `document.…`, `message.…`, `partner.…`. */
export function compileOutbound(raw: RawProfile, file: string, xref: Record<string, XrefTable> = {}): OutboundProfile {
  if (raw.source.format !== 'canonical' || !('format' in raw.target))
    throw new ProfileRuleError(['target'], 'an outbound profile reads source.format canonical and names target.format (x12, edifact, xml or json)');
  const context: TransformContext = { codeLists: raw.codeLists ?? {}, xref, decimal: '.' };
  return {
    id: raw.id,
    version: raw.version,
    source: raw.source,
    target: raw.target,
    context,
    fields: compileFields(raw.fields, ['fields'], jsonPaths, context),
    file,
  };
}

/** The CSV reading options of a profile with every default applied. */
export function csvOptions(source: Extract<SourceSpec, { format: 'csv' }>): CsvOptions {
  return {
    header: source.header ?? true,
    delimiter: source.delimiter ?? ',',
    quote: source.quote ?? '"',
    encoding: source.encoding ?? 'utf-8',
    skipRows: source.skipRows ?? 0,
    ...(source.groupBy !== undefined ? { groupBy: source.groupBy } : {}),
  };
}

/**
 * Compiles paths and checks every reference (code lists, cross-reference tables, date formats,
 * time zones), so that run time never meets a mistake in the profile. `xref` holds the tables the
 * loader read from the files the profile names.
 */
export function compileProfile(raw: RawProfile, file: string, xref: Record<string, XrefTable> = {}): CompiledProfile {
  if (raw.source.format === 'canonical' || !('type' in raw.target))
    throw new ProfileRuleError(
      ['target'],
      'an inbound profile names target.type and target.version (the canonical document it produces); source.format canonical is for outbound profiles',
    );
  const paths = pathsFor(raw.source);
  const context: TransformContext = { codeLists: raw.codeLists ?? {}, xref, decimal: raw.source.decimal ?? '.' };
  if (raw.source.format === 'csv') {
    try {
      new TextDecoder(csvOptions(raw.source).encoding);
    } catch {
      throw new ProfileRuleError(
        ['source', 'encoding'],
        `"${raw.source.encoding}" is not an encoding this gateway knows (e.g. utf-8, windows-1252, iso-8859-1)`,
      );
    }
  }
  const fields = compileFields(raw.fields, ['fields'], paths, context);
  const compiled: CompiledProfile = {
    id: raw.id,
    version: raw.version,
    source: raw.source,
    target: raw.target as CompiledProfile['target'],
    context,
    fields,
    file,
  };
  if (raw.source.format === 'json')
    compiled.match = {
      path: attempt(['source', 'match', 'path'], () => paths.value(raw.source.format === 'json' ? raw.source.match.path : '')),
      equals: raw.source.match.equals,
    };
  if (raw.source.format === 'xml') {
    const root = raw.source.root;
    compiled.root = attempt(['source', 'root'], () => paths.selector(root.startsWith('/') ? root : `/${root}`));
  }
  return compiled;
}

function attempt<T>(at: (string | number)[], fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new ProfileRuleError(at, (err as Error).message);
  }
}

function checkTransforms(spec: TransformSpec | TransformSpec[] | undefined, at: (string | number)[], ctx: TransformContext): TransformSpec[] {
  const list = spec === undefined ? [] : Array.isArray(spec) ? spec : [spec];
  list.forEach((t, i) => {
    const here = [...at, 'transform', ...(Array.isArray(spec) ? [i] : [])];
    if (typeof t !== 'object') return;
    if ('codeList' in t && !ctx.codeLists[t.codeList]) throw new ProfileRuleError(here, `code list "${t.codeList}" is not defined under codeLists`);
    if ('xref' in t) {
      const table = ctx.xref[t.xref];
      if (!table) throw new ProfileRuleError(here, `cross-reference table "${t.xref}" is not defined under xref`);
      if (!table.columns.includes(t.column))
        throw new ProfileRuleError(
          here,
          `cross-reference table "${t.xref}" (${table.file}) has no column "${t.column}"; its columns are ${table.columns.join(', ')}`,
        );
    }
    if ('date' in t && t.date !== 'ISO') attempt(here, () => datePattern(t.date));
    if ('dateTime' in t && typeof t.dateTime === 'object') {
      const dt = t.dateTime;
      attempt(here, () => datePattern(dt.format));
      if (dt.zone) attempt(here, () => checkZone(dt.zone as string));
    }
  });
  return list;
}

function compileWhen<P>(raw: RawWhen | undefined, at: (string | number)[], paths: PathCompiler<P>): When<P> | undefined {
  if (!raw) return undefined;
  const equals = raw.in ?? (raw.equals !== undefined ? [raw.equals] : undefined);
  return { path: attempt([...at, 'when', 'path'], () => paths.value(raw.path)), ...(equals ? { equals } : {}), exists: raw.exists ?? true };
}

function compileUnits(raw: RawUnits | undefined, at: (string | number)[], ctx: TransformContext, fields: Record<string, RawRule>): Units | undefined {
  if (!raw) return undefined;
  const units: Units = {
    rule: [...at, 'units'].join('.'),
    to: raw.to,
    quantity: raw.quantity ?? 'quantity',
    unit: raw.unit ?? 'unit',
    factors: raw.factors ?? {},
    perItem: raw.perItem ?? {},
    ...(raw.price ? { price: raw.price } : {}),
  };
  for (const f of [units.quantity, units.unit, ...(units.price ? [units.price] : [])]) {
    if (!(f in fields)) throw new ProfileRuleError([...at, 'units'], `units names the field "${f}", which this rule's fields do not define`);
  }
  for (const [unit, p] of Object.entries(units.perItem)) {
    const table = ctx.xref[p.xref];
    if (!table) throw new ProfileRuleError([...at, 'units', 'perItem', unit, 'xref'], `cross-reference table "${p.xref}" is not defined under xref`);
    if (!table.columns.includes(p.column))
      throw new ProfileRuleError([...at, 'units', 'perItem', unit, 'column'], `cross-reference table "${p.xref}" (${table.file}) has no column "${p.column}"`);
    if (!(p.by in fields)) throw new ProfileRuleError([...at, 'units', 'perItem', unit, 'by'], `"${p.by}" is not a field of this rule`);
  }
  return units;
}

function compileFields<P>(fields: Record<string, RawRule>, at: (string | number)[], paths: PathCompiler<P>, ctx: TransformContext): Rule<P>[] {
  return Object.entries(fields).map(([name, raw]): Rule<P> => {
    const here = [...at, name];
    const rule = here.join('.');
    if (typeof raw === 'string') return { kind: 'value', name, rule, paths: [attempt(here, () => paths.value(raw))], transforms: [], required: false };
    const when = compileWhen(raw.when, here, paths);
    const base = { name, rule, ...(when ? { when } : {}) };
    if ('value' in raw) return { ...base, kind: 'const', value: raw.value };
    if ('from' in raw) {
      return {
        ...base,
        kind: 'value',
        paths: (Array.isArray(raw.from) ? raw.from : [raw.from]).map((f, i) =>
          attempt([...here, 'from', ...(Array.isArray(raw.from) ? [i] : [])], () => paths.value(f)),
        ),
        transforms: checkTransforms(raw.transform, here, ctx),
        ...(raw.default !== undefined ? { default: raw.default } : {}),
        required: raw.required ?? false,
      };
    }
    if ('concat' in raw) {
      return {
        ...base,
        kind: 'concat',
        paths: raw.concat.map((f, i) => attempt([...here, 'concat', i], () => paths.value(f))),
        separator: raw.separator ?? '',
        transforms: checkTransforms(raw.transform, here, ctx),
        required: raw.required ?? false,
      };
    }
    if ('list' in raw) {
      return {
        ...base,
        kind: 'list',
        required: raw.required ?? false,
        entries: raw.list.map((entry, i) => {
          const w = compileWhen(entry.when, [...here, 'list', i], paths);
          return { ...(w ? { when: w } : {}), fields: compileFields(entry.fields, [...here, 'list', i, 'fields'], paths, ctx) };
        }),
      };
    }
    const units = compileUnits(raw.units, here, ctx, raw.fields);
    const inner = compileFields(raw.fields, [...here, 'fields'], paths, ctx);
    if ('each' in raw) {
      return {
        ...base,
        kind: 'array',
        each: attempt([...here, 'each'], () => paths.selector(raw.each, raw.until)),
        required: raw.required ?? false,
        ...(units ? { units } : {}),
        fields: inner,
      };
    }
    const at2 = raw.at;
    return {
      ...base,
      kind: 'object',
      ...(at2 !== undefined ? { at: attempt([...here, 'at'], () => paths.selector(at2)) } : {}),
      ...(units ? { units } : {}),
      fields: inner,
    };
  });
}
