import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { hasCanonicalSchema } from '../canonical/index.js';
import { GatewayError } from '../errors.js';
import { parseCsv, type CsvTable } from '../formats/csv/parse.js';
import { compileOutbound, compileProfile, ProfileRuleError, type CompiledProfile, type OutboundProfile, type RawProfile } from '../mapping/profile.js';
import type { XrefTable } from '../mapping/transforms.js';
import { parsePrivateKey, parsePublicKey } from '../security/ssh-keys.js';
import { certsFromPem, type Cert } from '../formats/as2/certificates.js';
import type { EdifactSettings, PartnerProfile, X12Settings } from '../types.js';
import mappingSchema from './mapping.schema.json' with { type: 'json' };
import partnerSchema from './partner.schema.json' with { type: 'json' };

// ajv-formats is CommonJS: its module object is the plugin and also carries it as `default`.
const addFormats = addFormatsModule.default;

// strictRequired is off: the mapping schema's anyOf (extends, or source+target+fields) names properties declared beside it.
const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
addFormats(ajv, ['date']);
const validatePartner = ajv.compile(partnerSchema);
const validateMapping = ajv.compile(mappingSchema);
const validateX12 = ajv.compile({ type: 'object', properties: { x12: partnerSchema.properties.x12 } });

/** X12 settings with every default applied (for partners built in code, such as the CLI's test partner). */
export function defaultX12Settings(): X12Settings {
  const holder: { x12?: X12Settings } = {};
  validateX12(holder);
  return holder.x12 as X12Settings;
}

const validateEdifact = ajv.compile({ type: 'object', properties: { edifact: partnerSchema.properties.edifact } });

/** The EDIFACT settings a partner without an `edifact` section gets (the schema's defaults). */
export function defaultEdifactSettings(): EdifactSettings {
  const holder: { edifact?: EdifactSettings } = {};
  validateEdifact(holder);
  return holder.edifact as EdifactSettings;
}

/** Partners and mapping profiles, validated, cross-checked and frozen. */
export interface GatewayConfig {
  partners: ReadonlyMap<string, Readonly<PartnerProfile>>;
  mappings: ReadonlyMap<string, CompiledProfile>;
  /** Outbound profiles (canonical → partner format), by id. */
  outbound: ReadonlyMap<string, OutboundProfile>;
  /** AS2 name → the partner with that agreement and its certificates (file order). */
  as2: ReadonlyMap<string, As2Partner>;
  /** OAuth client_id → partner. */
  clients: ReadonlyMap<string, Readonly<PartnerProfile>>;
  /** Client id or subject at the external identity provider → partner. */
  externalSubjects: ReadonlyMap<string, Readonly<PartnerProfile>>;
  /** Partner id → the CA its TLS client certificates are issued by (mtls.ca). */
  mtlsCas: ReadonlyMap<string, X509Certificate>;
}

export interface As2Partner {
  partner: Readonly<PartnerProfile>;
  certs: readonly Cert[];
}

/** Reads a certificate file named in a partner profile (relative to the folder above partners/). */
async function readCertFile(y: YamlFile, at: (string | number)[], f: string, partnersDir: string): Promise<{ file: string; text: string }> {
  const file = path.resolve(path.dirname(path.resolve(partnersDir)), f);
  const text = await readFile(file, 'utf8').catch((err: Error) => err);
  if (text instanceof Error) throw fail(y, at, `certificate file ${file} cannot be read (${text.message})`, 'GW_CONFIG_REFERENCE');
  return { file, text };
}

/** The CA of the partner's TLS client certificates (mtls.ca). */
async function loadMtlsCa(y: YamlFile, partner: PartnerProfile, partnersDir: string): Promise<X509Certificate | undefined> {
  if (!partner.mtls?.ca) return undefined;
  const { file, text } = await readCertFile(y, ['mtls', 'ca'], partner.mtls.ca, partnersDir);
  try {
    const ca = new X509Certificate(text);
    if (!ca.ca) throw new Error('it is not a CA certificate (basicConstraints CA:TRUE)');
    return ca;
  } catch (err) {
    throw fail(y, ['mtls', 'ca'], `${file} cannot be used as a CA (${(err as Error).message})`);
  }
}

/** Reads the partner's AS2 certificates; a missing or unreadable file is an error at its line. */
async function loadAs2Certs(y: YamlFile, partner: PartnerProfile, partnersDir: string): Promise<Cert[]> {
  const certs: Cert[] = [];
  for (const [i, f] of (partner.as2?.certificates ?? []).entries()) {
    const { file, text } = await readCertFile(y, ['as2', 'certificates', i], f, partnersDir);
    let found: Cert[];
    try {
      found = certsFromPem(text);
    } catch (err) {
      throw fail(y, ['as2', 'certificates', i], `${file} is not a valid PEM certificate (${(err as Error).message})`);
    }
    if (!found.length) throw fail(y, ['as2', 'certificates', i], `${file} holds no PEM certificate`);
    // The first certificate of a file is the partner's; the rest of a chain is not trusted to sign.
    certs.push(found[0] as Cert);
  }
  return certs;
}

export interface LoadOptions {
  partnersDir: string;
  mappingsDir: string;
  /** Values for `${NAME}` in partner profiles (normally process.env). */
  env: Record<string, string | undefined>;
  /**
   * Profile files that stand in for the profiles of the same id under mappings/ (`gateway mapping
   * diff` tries an old or a new version this way); their cross-reference files are looked up where
   * the replaced profile lives.
   */
  replace?: string[];
}

interface YamlFile {
  file: string;
  /** The folder relative names in the file are resolved against (its own, or the one it stands in for). */
  base?: string;
  doc: Document;
  lines: LineCounter;
}

async function readYaml(file: string): Promise<YamlFile> {
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

function fail(
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

/** The schema violation worth reporting, in the file that holds its line (`fileFor` picks it along an `extends` chain). */
function schemaFailure(errors: ErrorObject[], fileFor: (at: (string | number)[]) => YamlFile): GatewayError {
  // The deepest error is the most specific one; oneOf/anyOf summaries say little.
  const best = [...meantBranch(errors)].sort(
    (a, b) => b.instancePath.length - a.instancePath.length || Number(/Of$/.test(a.keyword)) - Number(/Of$/.test(b.keyword)),
  )[0] as ErrorObject;
  const at = best.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replaceAll('~1', '/').replaceAll('~0', '~')));
  const y = fileFor(at);
  if (best.keyword === 'additionalProperties') {
    const prop = (best.params as { additionalProperty: string }).additionalProperty;
    return fail(y, [...at, prop], `unknown property "${prop}"`, 'GW_CONFIG_INVALID', true);
  }
  const reason =
    best.keyword === 'enum' ? `must be one of ${(best.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : (best.message ?? 'is invalid');
  return fail(y, at, reason);
}

/**
 * The errors of the oneOf branch the file meant: a branch whose `kind` is another (a route target of
 * kind amqp is not the http one) says nothing about what is wrong. All of them when no kind matched.
 */
function meantBranch(errors: ErrorObject[]): ErrorObject[] {
  const otherKinds = errors
    .filter((e) => e.keyword === 'const' && e.instancePath.endsWith('/kind'))
    .map((e) => e.schemaPath.replace(/properties\/kind\/const$/, ''));
  const meant = errors.filter((e) => !otherKinds.some((branch) => e.schemaPath.startsWith(branch)));
  return meant.some((e) => !/Of$/.test(e.keyword)) ? meant : errors;
}

/**
 * A GS1 company prefix is digits, not a number: YAML reads an unquoted 0614141 as 614141 and the
 * prefix would lose the zero GS1 gave it. Said plainly here, before the schema's terser words.
 */
function checkGs1(y: YamlFile, raw: unknown): void {
  const prefix = isPlainObject(raw) && isPlainObject(raw.gs1) ? raw.gs1.companyPrefix : undefined;
  if (typeof prefix === 'number')
    throw fail(
      y,
      ['gs1', 'companyPrefix'],
      `write the GS1 company prefix in quotes ("0${prefix}" if it starts with a zero): YAML reads it as the number ${prefix}`,
    );
  if (typeof prefix === 'string' && !/^[0-9]{7,10}$/.test(prefix))
    throw fail(y, ['gs1', 'companyPrefix'], `a GS1 company prefix has 7 to 10 digits, not "${prefix}"`);
}

/** A broker URL with a password would store it with every delivery: said plainly, before the schema's pattern. */
function checkBrokerPasswords(y: YamlFile, raw: unknown): void {
  const routes: unknown[] = isPlainObject(raw) && Array.isArray(raw.routes) ? raw.routes : [];
  routes.forEach((route, i) => {
    const target = isPlainObject(route) && isPlainObject(route.target) ? route.target : {};
    const servers: unknown[] = Array.isArray(target.servers) ? target.servers : [];
    const urls: [(string | number)[], unknown][] =
      target.kind === 'amqp' ? [[['url'], target.url]] : target.kind === 'nats' ? servers.map((url, n) => [['servers', n], url]) : [];
    for (const [at, url] of urls)
      if (typeof url === 'string' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(url))
        throw fail(
          y,
          ['routes', i, 'target', ...at],
          'a broker password does not belong in the URL: name the environment variable that holds it in passwordEnv',
        );
  });
}

/** Replaces `${NAME}` in every string; a missing variable is a configuration error at its line. */
function interpolate(y: YamlFile, value: unknown, env: LoadOptions['env'], at: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Z_][A-Z0-9_]*)\}/g, (_, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') throw fail(y, at, `environment variable ${name} is not set`);
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(y, v, env, [...at, i]));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(y, v, env, [...at, k])]));
  return value;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && /\.ya?ml$/.test(entry.name)) out.push(path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out.sort();
}

interface MappingSource {
  y: YamlFile;
  raw: Record<string, unknown>;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

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

async function loadMapping(id: string, sources: Map<string, MappingSource>, mappingsDir: string): Promise<CompiledProfile | OutboundProfile> {
  const { raw, chain, xrefOwners } = resolveProfile(id, sources);
  const y = chain[0] as YamlFile;
  if (!validateMapping(raw)) throw schemaFailure(validateMapping.errors ?? [], (at) => ownerOf(chain, at));
  const profile = raw as unknown as RawProfile;
  const canonical =
    profile.source.format === 'canonical' ? { ...profile.source, at: 'source' } : 'type' in profile.target ? { ...profile.target, at: 'target' } : undefined;
  if (canonical && !hasCanonicalSchema(canonical.type, canonical.version)) {
    throw fail(
      ownerOf(chain, [canonical.at, 'version']),
      [canonical.at, 'version'],
      `there is no canonical schema ${canonical.type} version ${canonical.version}`,
      'GW_CONFIG_REFERENCE',
    );
  }
  const xref: Record<string, XrefTable> = {};
  for (const [name, ref] of Object.entries(profile.xref ?? {})) xref[name] = await loadXref(xrefOwners[name] ?? y, name, ref, mappingsDir);
  try {
    return profile.source.format === 'canonical' ? compileOutbound(profile, y.file, xref) : compileProfile(profile, y.file, xref);
  } catch (err) {
    if (err instanceof ProfileRuleError) throw fail(ownerOf(chain, err.rule), err.rule, err.message);
    throw err;
  }
}

async function readMappings(mappingsDir: string, replace: string[] = []): Promise<Map<string, MappingSource>> {
  const sources = new Map<string, MappingSource>();
  const replacing = new Map<string, MappingSource>();
  for (const file of replace) {
    const y = await readYaml(path.resolve(file));
    const raw = y.doc.toJS() as unknown;
    if (!isPlainObject(raw) || typeof raw.id !== 'string') throw fail(y, ['id'], 'a mapping profile needs an id (its path under mappings/)');
    y.base = path.dirname(path.join(mappingsDir, raw.id));
    replacing.set(raw.id, { y, raw });
  }
  for (const file of await yamlFiles(mappingsDir)) {
    const y = await readYaml(file);
    const raw = y.doc.toJS() as unknown;
    if (!isPlainObject(raw)) throw fail(y, [], 'a mapping profile is a YAML mapping (id, version, source, target, fields)');
    const expectedId = path
      .relative(mappingsDir, file)
      .replace(/\.ya?ml$/, '')
      .split(path.sep)
      .join('/');
    if (raw.id !== expectedId) throw fail(y, ['id'], `the profile id must be "${expectedId}" (its path under mappings/), found "${String(raw.id)}"`);
    sources.set(expectedId, { y, raw });
  }
  for (const [id, src] of replacing) sources.set(id, src);
  return sources;
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

async function loadPartner(
  file: string,
  mappings: ReadonlyMap<string, CompiledProfile>,
  outbound: ReadonlyMap<string, OutboundProfile>,
  opts: LoadOptions,
): Promise<{ partner: PartnerProfile; certs: Cert[]; mtlsCa?: X509Certificate }> {
  const env = opts.env;
  const y = await readYaml(file);
  const raw = interpolate(y, y.doc.toJS(), env);
  checkGs1(y, raw);
  checkBrokerPasswords(y, raw);
  if (!validatePartner(raw)) throw schemaFailure(validatePartner.errors ?? [], () => y);
  const partner = { ...(raw as Omit<PartnerProfile, 'file'>), file };
  // ajv applies no defaults inside oneOf, so the target defaults are set here.
  partner.routes = partner.routes.map((r) => (r.target.kind === 'http' ? { ...r, target: { ...r.target, timeoutMs: r.target.timeoutMs ?? 10_000 } } : r));
  partner.routes.forEach((r, i) => {
    if (r.retry?.backoffMs !== undefined && r.retry.backoffMaxMs !== undefined && r.retry.backoffMs > r.retry.backoffMaxMs)
      throw fail(
        y,
        ['routes', i, 'retry', 'backoffMs'],
        `backoffMs (${r.retry.backoffMs}) is longer than backoffMaxMs (${r.retry.backoffMaxMs}); the first delay cannot exceed the longest`,
      );
    // A broker's password is read from the environment when the gateway connects: say now that it is missing.
    const passwordEnv = 'passwordEnv' in r.target ? r.target.passwordEnv : undefined;
    if (passwordEnv && !env[passwordEnv]) throw fail(y, ['routes', i, 'target', 'passwordEnv'], `environment variable ${passwordEnv} is not set`);
  });
  partner.events?.urls.forEach((entry, i) => {
    if (typeof entry !== 'string' && entry.passwordEnv && !env[entry.passwordEnv])
      throw fail(y, ['events', 'urls', i, 'passwordEnv'], `environment variable ${entry.passwordEnv} is not set`);
  });
  const expectedId = path.basename(file).replace(/\.ya?ml$/, '');
  if (partner.id !== expectedId) throw fail(y, ['id'], `the partner id must equal the file name "${expectedId}", found "${partner.id}"`);
  partner.oauth = { ...partner.oauth, clientId: partner.oauth.clientId ?? partner.id };
  partner.inbound.forEach((doc, i) => {
    const m = mappings.get(doc.mapping);
    if (!m) throw fail(y, ['inbound', i, 'mapping'], `mapping profile "${doc.mapping}" does not exist under mappings/`, 'GW_CONFIG_REFERENCE');
    if (m.target.type !== doc.type)
      throw fail(y, ['inbound', i, 'mapping'], `mapping profile "${doc.mapping}" produces ${m.target.type}, not ${doc.type}`, 'GW_CONFIG_REFERENCE');
  });
  partner.outbound.forEach((doc, i) => {
    const m = outbound.get(doc.mapping);
    if (!m)
      throw fail(
        y,
        ['outbound', i, 'mapping'],
        mappings.has(doc.mapping)
          ? `"${doc.mapping}" is an inbound profile; outbound documents need a profile with source.format canonical`
          : `outbound profile "${doc.mapping}" does not exist under mappings/`,
        'GW_CONFIG_REFERENCE',
      );
    if (m.source.type !== doc.type)
      throw fail(y, ['outbound', i, 'mapping'], `outbound profile "${doc.mapping}" renders ${m.source.type}, not ${doc.type}`, 'GW_CONFIG_REFERENCE');
    if (m.target.format !== doc.format)
      throw fail(y, ['outbound', i, 'format'], `outbound profile "${doc.mapping}" writes ${m.target.format}, not ${doc.format}`, 'GW_CONFIG_REFERENCE');
  });
  partner.credentials.sshKeys.forEach((k, i) => {
    const parsed = parsePublicKey(k.key);
    if (parsed instanceof Error) throw fail(y, ['credentials', 'sshKeys', i, 'key'], `not an OpenSSH public key (${parsed.message})`);
  });
  const remote = partner.sftp?.remote;
  if (remote) {
    remote.hostKey.forEach((k, i) => {
      const parsed = parsePublicKey(k);
      if (parsed instanceof Error) throw fail(y, ['sftp', 'remote', 'hostKey', i], `not an OpenSSH public key (${parsed.message})`);
    });
    const key = await readFile(remote.privateKey, 'utf8').then(parsePrivateKey, (err: Error) => err);
    if (key instanceof Error)
      throw fail(y, ['sftp', 'remote', 'privateKey'], `cannot use ${remote.privateKey} as the login key (${key.message})`, 'GW_CONFIG_REFERENCE');
    if (remote.pickup?.after === 'move' && !remote.pickup.moveTo)
      throw fail(y, ['sftp', 'remote', 'pickup'], 'after: move needs moveTo (the remote folder picked-up files go to)');
  }
  const sendsX12 = partner.outbound.some((o) => o.format === 'x12');
  if (sendsX12 && !partner.x12.ourId)
    throw fail(y, ['outbound'], 'a partner that is sent X12 documents needs x12.ourId (our ISA05/ISA06)', 'GW_CONFIG_REFERENCE', true);
  if (sendsX12 && !partner.x12.partnerId && !partner.identifiers.x12?.length)
    throw fail(y, ['outbound'], 'a partner that is sent X12 documents needs x12.partnerId or identifiers.x12 (its ISA07/ISA08)', 'GW_CONFIG_REFERENCE', true);
  const sendsEdifact = partner.outbound.some((o) => o.format === 'edifact');
  if (sendsEdifact && (!partner.edifact.ourId || !partner.identifiers.edifact?.length))
    throw fail(
      y,
      ['outbound'],
      'a partner that is sent EDIFACT documents needs edifact.ourId (our UNB sender) and identifiers.edifact (its UNB id)',
      'GW_CONFIG_REFERENCE',
      true,
    );
  const d = partner.x12.outbound.delimiters;
  if (new Set([d.element, d.component, d.segment, d.repetition]).size !== 4)
    throw fail(y, ['x12', 'outbound', 'delimiters'], 'the four delimiters must differ from each other');
  if (partner.channels.includes('as2') && !partner.as2)
    throw fail(y, ['channels'], 'the as2 channel needs an as2 agreement (as2.id, as2.certificates)', 'GW_CONFIG_REFERENCE', true);
  const certs = await loadAs2Certs(y, partner, opts.partnersDir);
  if (partner.as2?.requireSigned && !certs.length)
    throw fail(y, ['as2', 'certificates'], 'as2.requireSigned needs the partner certificate to check signatures with', 'GW_CONFIG_REFERENCE', true);
  if (partner.as2?.send && partner.as2.send.encrypt !== 'none' && !certs.length)
    throw fail(y, ['as2', 'send', 'encrypt'], 'encrypting to the partner needs its certificate (as2.certificates)', 'GW_CONFIG_REFERENCE', true);
  const mtlsCa = await loadMtlsCa(y, partner, opts.partnersDir);
  if (partner.oauth.certificateBound && !partner.mtls)
    throw fail(y, ['oauth', 'certificateBound'], "certificate-bound tokens need the partner's TLS client certificate pinned under mtls", 'GW_CONFIG_REFERENCE');
  return { partner, certs, ...(mtlsCa ? { mtlsCa } : {}) };
}

/** Loads, validates and freezes every partner and mapping profile. Throws on the first bad file. */
export async function loadConfig(opts: LoadOptions): Promise<GatewayConfig> {
  const mappings = new Map<string, CompiledProfile>();
  const outbound = new Map<string, OutboundProfile>();
  const sources = await readMappings(opts.mappingsDir, opts.replace);
  for (const id of sources.keys()) {
    const m = deepFreeze(await loadMapping(id, sources, opts.mappingsDir));
    if (m.source.format === 'canonical') outbound.set(id, m as OutboundProfile);
    else mappings.set(id, m as CompiledProfile);
  }
  const partners = new Map<string, PartnerProfile>();
  // API key ids select the key at authentication, so they are unique across (and within) partners.
  const apiKeyOwners = new Map<string, PartnerProfile>();
  const as2 = new Map<string, As2Partner>();
  const clients = new Map<string, PartnerProfile>();
  const externalSubjects = new Map<string, PartnerProfile>();
  const mtlsCas = new Map<string, X509Certificate>();
  const unique = <T extends { id: string }>(map: Map<string, T>, key: string, p: T, what: string, file: string) => {
    const other = map.get(key);
    if (other && other.id !== p.id)
      throw new GatewayError('GW_CONFIG_INVALID', `${file}: ${what} "${key}" is also used by partner ${other.id}`, { location: { file } });
    map.set(key, p);
  };
  for (const file of await yamlFiles(opts.partnersDir)) {
    const loaded = await loadPartner(file, mappings, outbound, opts);
    const p = deepFreeze(loaded.partner);
    unique(clients, p.oauth.clientId, p, 'OAuth client id', file);
    for (const s of p.oauth.externalSubjects) unique(externalSubjects, s, p, 'external subject', file);
    if (loaded.mtlsCa) mtlsCas.set(p.id, loaded.mtlsCa);
    if (p.as2) {
      const other = as2.get(p.as2.id);
      if (other)
        throw new GatewayError('GW_CONFIG_INVALID', `${file}: AS2 name "${p.as2.id}" is also used by partner ${other.partner.id}; AS2 names must be unique`, {
          location: { file },
        });
      as2.set(p.as2.id, { partner: p, certs: loaded.certs });
    }
    for (const key of p.credentials.apiKeys) {
      const other = apiKeyOwners.get(key.id);
      if (other)
        throw new GatewayError('GW_CONFIG_INVALID', `${file}: API key id "${key.id}" is also used by partner ${other.id}; key ids must be unique`, {
          location: { file },
        });
      apiKeyOwners.set(key.id, p);
    }
    partners.set(p.id, p);
  }
  return { partners, mappings, outbound, as2, clients, externalSubjects, mtlsCas };
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
