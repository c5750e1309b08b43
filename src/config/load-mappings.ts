import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { hasCanonicalSchema } from '../canonical/index.js';
import { GatewayError } from '../errors.js';
import { parseCsv, type CsvTable } from '../formats/csv/parse.js';
import { compileOutbound, compileProfile, ProfileRuleError, type CompiledProfile, type OutboundProfile, type RawProfile } from '../mapping/profile.js';
import type { XrefTable } from '../mapping/transforms.js';
import { noting } from './config-errors.js';
import { validateMapping } from './validators.js';
import { deepFreeze, fail, isPlainObject, readYaml, schemaFailures, type YamlFile, yamlFiles } from './yaml-file.js';

/**
 * The mapping profiles under mappings/: each read, its `extends` chain applied, validated against
 * the mapping schema, its cross-reference tables read, and compiled. Every problem of every file is
 * noted, at its file and line (in the file of the chain that holds the node).
 */

interface MappingSource {
  y: YamlFile;
  raw: Record<string, unknown>;
}

/** A profile that `extends` another: objects merge key by key, anything else replaces, `null` removes. */
function mergeProfiles(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isPlainObject(v) && isPlainObject(out[k])) out[k] = mergeProfiles(out[k] as Record<string, unknown>, v);
    else out[k] = v;
  }
  return out;
}

interface ResolvedProfile {
  raw: Record<string, unknown>;
  /** The profile's file, then the files it extends, nearest first. */
  chain: YamlFile[];
  /** Which file declared each cross-reference table (its file name is relative to that file). */
  xrefOwners: Record<string, YamlFile>;
}

/** The profile with its `extends` chain applied. */
function resolveProfile(id: string, sources: Map<string, MappingSource>, seen: string[] = []): ResolvedProfile {
  const src = sources.get(id) as MappingSource;
  const own = { ...src.raw };
  const owned = isPlainObject(own.xref) ? Object.fromEntries(Object.keys(own.xref).map((k) => [k, src.y])) : {};
  const parentId = own.extends;
  if (typeof parentId !== 'string') return { raw: own, chain: [src.y], xrefOwners: owned };
  if (seen.includes(parentId) || parentId === id)
    throw fail(src.y, ['extends'], `profiles extend each other in a circle: ${[...seen, id, parentId].join(' → ')}`);
  if (!sources.has(parentId)) throw fail(src.y, ['extends'], `profile "${parentId}" does not exist under mappings/`, 'GW_CONFIG_REFERENCE');
  const parent = resolveProfile(parentId, sources, [...seen, id]);
  const { extends: _omit, ...rest } = own;
  return { raw: { ...mergeProfiles(parent.raw, rest), extends: parentId }, chain: [src.y, ...parent.chain], xrefOwners: { ...parent.xrefOwners, ...owned } };
}

/** The file of the chain that holds the node at `at` (the profile itself when none does): where an error is reported. */
function ownerOf(chain: YamlFile[], at: (string | number)[]): YamlFile {
  for (let n = at.length; n > 0; n--) {
    const holder = chain.find((y) => y.doc.hasIn(at.slice(0, n)));
    if (holder) return holder;
  }
  return chain[0] as YamlFile;
}

/** Compiles one profile; its problems go to `errs` (undefined then), or are thrown when one stops the rest. */
async function loadMapping(
  id: string,
  sources: Map<string, MappingSource>,
  mappingsDir: string,
  errs: GatewayError[],
): Promise<CompiledProfile | OutboundProfile | undefined> {
  const { raw, chain, xrefOwners } = resolveProfile(id, sources);
  const y = chain[0] as YamlFile;
  if (!validateMapping(raw)) return void errs.push(...schemaFailures(validateMapping.errors ?? [], (at) => ownerOf(chain, at)));
  const profile = raw as unknown as RawProfile;
  const canonical =
    profile.source.format === 'canonical' ? { ...profile.source, at: 'source' } : 'type' in profile.target ? { ...profile.target, at: 'target' } : undefined;
  if (canonical && !hasCanonicalSchema(canonical.type, canonical.version)) {
    const at = [canonical.at, 'version'];
    errs.push(fail(ownerOf(chain, at), at, `there is no canonical schema ${canonical.type} version ${canonical.version}`, 'GW_CONFIG_REFERENCE'));
  }
  const xref: Record<string, XrefTable> = {};
  for (const [name, ref] of Object.entries(profile.xref ?? {})) {
    const table = await noting(errs, () => loadXref(xrefOwners[name] ?? y, name, ref, mappingsDir));
    if (table) xref[name] = table;
  }
  if (errs.length) return undefined;
  try {
    return profile.source.format === 'canonical' ? compileOutbound(profile, y.file, xref) : compileProfile(profile, y.file, xref);
  } catch (err) {
    if (err instanceof ProfileRuleError) throw fail(ownerOf(chain, err.rule), err.rule, err.message);
    throw err;
  }
}

interface MappingSources {
  sources: Map<string, MappingSource>;
  /** Ids of profile files that could not be read: their problems are listed, and a partner naming them adds none. */
  unreadable: Set<string>;
}

async function readMappings(mappingsDir: string, errs: GatewayError[], replace: string[] = []): Promise<MappingSources> {
  const sources = new Map<string, MappingSource>();
  const unreadable = new Set<string>();
  const replacing = new Map<string, MappingSource>();
  for (const file of replace) {
    const y = await noting(errs, () => readYaml(path.resolve(file)));
    const raw = y?.doc.toJS() as unknown;
    if (!y) continue;
    if (!isPlainObject(raw) || typeof raw.id !== 'string') {
      errs.push(fail(y, ['id'], 'a mapping profile needs an id (its path under mappings/)'));
      continue;
    }
    y.base = path.dirname(path.join(mappingsDir, raw.id));
    replacing.set(raw.id, { y, raw });
  }
  for (const file of await yamlFiles(mappingsDir)) {
    const expectedId = path
      .relative(mappingsDir, file)
      .replace(/\.ya?ml$/, '')
      .split(path.sep)
      .join('/');
    const y = await noting(errs, () => readYaml(file));
    const raw = y?.doc.toJS() as unknown;
    if (!y) unreadable.add(expectedId);
    else if (!isPlainObject(raw)) errs.push(fail(y, [], 'a mapping profile is a YAML mapping (id, version, source, target, fields)'));
    else if (raw.id !== expectedId) errs.push(fail(y, ['id'], `the profile id must be "${expectedId}" (its path under mappings/), found "${String(raw.id)}"`));
    else sources.set(expectedId, { y, raw });
    if (!sources.has(expectedId)) unreadable.add(expectedId);
  }
  for (const [id, src] of replacing) {
    sources.set(id, src);
    unreadable.delete(id);
  }
  return { sources, unreadable };
}

/** Reads a cross-reference table: a UTF-8 CSV with a header row, inside mappings/. */
async function loadXref(y: YamlFile, name: string, ref: { file: string; key: string }, mappingsDir: string): Promise<XrefTable> {
  const file = path.resolve(y.base ?? path.dirname(y.file), ref.file);
  const rel = path.relative(path.resolve(mappingsDir), file);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw fail(y, ['xref', name, 'file'], `"${ref.file}" is outside mappings/; cross-reference tables live beside their profile`);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw fail(y, ['xref', name, 'file'], `cross-reference file "${ref.file}" does not exist (looked for ${file})`, 'GW_CONFIG_REFERENCE');
  }
  let table: CsvTable;
  try {
    table = parseCsv(bytes, { header: true, delimiter: ',', quote: '"', encoding: 'utf-8', skipRows: 0 });
  } catch (err) {
    throw fail(y, ['xref', name, 'file'], `${file}: ${(err as Error).message}`);
  }
  const keyIndex = table.columns.indexOf(ref.key);
  if (keyIndex < 0)
    throw fail(y, ['xref', name, 'key'], `${ref.file} has no column "${ref.key}"; its columns are ${table.columns.join(', ')}`, 'GW_CONFIG_REFERENCE');
  const rows = new Map<string, Record<string, string>>();
  for (const row of table.rows) {
    const key = (row.values[keyIndex] ?? '').trim();
    if (!key) continue;
    if (rows.has(key))
      throw new GatewayError('GW_CONFIG_INVALID', `${file}:${row.line}: the key "${key}" (column ${ref.key}) appears twice in cross-reference table ${name}`, {
        location: { file, line: row.line },
      });
    rows.set(key, Object.fromEntries(table.columns.map((c, i) => [c, (row.values[i] ?? '').trim()])));
  }
  return { file: path.relative(path.resolve(mappingsDir, '..'), file).split(path.sep).join('/'), key: ref.key, columns: table.columns, rows };
}

/** What a partner profile refers to: the compiled profiles, and the ids of profiles whose own errors are listed already. */
export interface Profiles {
  mappings: ReadonlyMap<string, CompiledProfile>;
  outbound: ReadonlyMap<string, OutboundProfile>;
  broken: ReadonlySet<string>;
}

/** Every mapping profile, compiled; a profile with problems is left out (its id in `broken`) and its problems noted. */
export async function loadMappings(
  opts: { mappingsDir: string; replace?: string[] },
  errs: GatewayError[],
): Promise<Profiles & { mappings: Map<string, CompiledProfile>; outbound: Map<string, OutboundProfile> }> {
  const mappings = new Map<string, CompiledProfile>();
  const outbound = new Map<string, OutboundProfile>();
  const { sources, unreadable } = await readMappings(opts.mappingsDir, errs, opts.replace);
  const broken = new Set(unreadable);
  for (const id of sources.keys()) {
    const fileErrs: GatewayError[] = [];
    const m = await noting(fileErrs, () => loadMapping(id, sources, opts.mappingsDir, fileErrs));
    errs.push(...fileErrs);
    if (!m) broken.add(id);
    else if (m.source.format === 'canonical') outbound.set(id, deepFreeze(m) as OutboundProfile);
    else mappings.set(id, deepFreeze(m) as CompiledProfile);
  }
  return { mappings, outbound, broken };
}
