import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { GatewayError } from '../errors.js';
import type { CompiledProfile, OutboundProfile } from '../mapping/profile.js';
import { parsePrivateKey, parsePublicKey } from '../security/ssh-keys.js';
import { certsFromPem, type Cert } from '../formats/as2/certificates.js';
import type { EdifactSettings, PartnerProfile, X12Settings } from '../types.js';
import { ConfigErrors, inFileOrder, noting } from './config-errors.js';
import { loadMappings, type Profiles } from './load-mappings.js';
import { validateEdifact, validatePartner, validateX12 } from './validators.js';
import { deepFreeze, fail, interpolate, isPlainObject, readYaml, schemaFailures, type YamlFile, yamlFiles } from './yaml-file.js';

/** X12 settings with every default applied (for partners built in code, such as the CLI's test partner). */
export function defaultX12Settings(): X12Settings {
  const holder: { x12?: X12Settings } = {};
  validateX12(holder);
  return holder.x12 as X12Settings;
}

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

/**
 * A GS1 company prefix is digits, not a number: YAML reads an unquoted 0614141 as 614141 and the
 * prefix would lose the zero GS1 gave it. Said plainly here, before the schema's terser words.
 */
function checkGs1(y: YamlFile, raw: unknown): GatewayError[] {
  const prefix = isPlainObject(raw) && isPlainObject(raw.gs1) ? raw.gs1.companyPrefix : undefined;
  if (typeof prefix === 'number')
    return [
      fail(
        y,
        ['gs1', 'companyPrefix'],
        `write the GS1 company prefix in quotes ("0${prefix}" if it starts with a zero): YAML reads it as the number ${prefix}`,
      ),
    ];
  if (typeof prefix === 'string' && !/^[0-9]{7,10}$/.test(prefix))
    return [fail(y, ['gs1', 'companyPrefix'], `a GS1 company prefix has 7 to 10 digits, not "${prefix}"`)];
  return [];
}

/** A broker URL with a password would store it with every delivery: said plainly, before the schema's pattern. */
function checkBrokerPasswords(y: YamlFile, raw: unknown): GatewayError[] {
  const routes: unknown[] = isPlainObject(raw) && Array.isArray(raw.routes) ? raw.routes : [];
  const errs: GatewayError[] = [];
  routes.forEach((route, i) => {
    const target = isPlainObject(route) && isPlainObject(route.target) ? route.target : {};
    const servers: unknown[] = Array.isArray(target.servers) ? target.servers : [];
    const urls: [(string | number)[], unknown][] =
      target.kind === 'amqp' ? [[['url'], target.url]] : target.kind === 'nats' ? servers.map((url, n) => [['servers', n], url]) : [];
    for (const [at, url] of urls)
      if (typeof url === 'string' && /^[a-z]+:\/\/[^/@]*:[^/@]*@/.test(url))
        errs.push(
          fail(y, ['routes', i, 'target', ...at], 'a broker password does not belong in the URL: name the environment variable that holds it in passwordEnv'),
        );
  });
  return errs;
}

interface LoadedPartner {
  partner: PartnerProfile;
  certs: Cert[];
  mtlsCa?: X509Certificate;
}

/** Loads one partner profile; every problem found goes to `errs` (and undefined is returned). */
async function loadPartner(file: string, profiles: Profiles, opts: LoadOptions, errs: GatewayError[]): Promise<LoadedPartner | undefined> {
  const y = await readYaml(file);
  const raw = interpolate(y, y.doc.toJS(), opts.env, errs);
  errs.push(...checkGs1(y, raw), ...checkBrokerPasswords(y, raw));
  // A value whose variable is not set is complained about once, not again for the `${NAME}` left in it.
  const unset = new Set(errs.map((e) => `${e.location?.line}:${e.location?.column}`));
  if (!validatePartner(raw))
    errs.push(...schemaFailures(validatePartner.errors ?? [], () => y).filter((e) => !unset.has(`${e.location?.line}:${e.location?.column}`)));
  // Past the schema the profile's shape is known; before it, the checks below would misread it.
  if (errs.length) return undefined;
  const partner = { ...(raw as Omit<PartnerProfile, 'file'>), file };
  // ajv applies no defaults inside oneOf, so the target defaults are set here.
  partner.routes = partner.routes.map((r) => (r.target.kind === 'http' ? { ...r, target: { ...r.target, timeoutMs: r.target.timeoutMs ?? 10_000 } } : r));
  partner.oauth = { ...partner.oauth, clientId: partner.oauth.clientId ?? partner.id };
  errs.push(...checkRoutes(y, partner, opts.env), ...checkDocuments(y, partner, profiles), ...checkPartnerRules(y, partner));
  await checkRemoteSftp(y, partner, errs);
  const certs = (await noting(errs, () => loadAs2Certs(y, partner, opts.partnersDir))) ?? [];
  if (partner.as2?.requireSigned && !certs.length && !errs.length)
    errs.push(fail(y, ['as2', 'certificates'], 'as2.requireSigned needs the partner certificate to check signatures with', 'GW_CONFIG_REFERENCE', true));
  if (partner.as2?.send && partner.as2.send.encrypt !== 'none' && !certs.length && !errs.length)
    errs.push(fail(y, ['as2', 'send', 'encrypt'], 'encrypting to the partner needs its certificate (as2.certificates)', 'GW_CONFIG_REFERENCE', true));
  const mtlsCa = await noting(errs, () => loadMtlsCa(y, partner, opts.partnersDir));
  if (errs.length) return undefined;
  return { partner, certs, ...(mtlsCa ? { mtlsCa } : {}) };
}

/** Routes' retry settings, and the environment variables that brokers' passwords (routes and event URLs) are read from. */
function checkRoutes(y: YamlFile, partner: PartnerProfile, env: LoadOptions['env']): GatewayError[] {
  const errs: GatewayError[] = [];
  partner.routes.forEach((r, i) => {
    if (r.retry?.backoffMs !== undefined && r.retry.backoffMaxMs !== undefined && r.retry.backoffMs > r.retry.backoffMaxMs)
      errs.push(
        fail(
          y,
          ['routes', i, 'retry', 'backoffMs'],
          `backoffMs (${r.retry.backoffMs}) is longer than backoffMaxMs (${r.retry.backoffMaxMs}); the first delay cannot exceed the longest`,
        ),
      );
    // A broker's password is read from the environment when the gateway connects: say now that it is missing.
    const passwordEnv = 'passwordEnv' in r.target ? r.target.passwordEnv : undefined;
    if (passwordEnv && !env[passwordEnv]) errs.push(fail(y, ['routes', i, 'target', 'passwordEnv'], `environment variable ${passwordEnv} is not set`));
  });
  // The same for the logins of the broker URLs its event subscriptions may use.
  partner.events?.urls.forEach((entry, i) => {
    if (typeof entry !== 'string' && entry.passwordEnv && !env[entry.passwordEnv])
      errs.push(fail(y, ['events', 'urls', i, 'passwordEnv'], `environment variable ${entry.passwordEnv} is not set`));
  });
  return errs;
}

/** The mapping profiles the partner's documents name exist and fit (a profile with errors of its own adds none here). */
function checkDocuments(y: YamlFile, partner: PartnerProfile, { mappings, outbound, broken }: Profiles): GatewayError[] {
  const errs: GatewayError[] = [];
  const ref = (at: (string | number)[], reason: string) => errs.push(fail(y, at, reason, 'GW_CONFIG_REFERENCE'));
  partner.inbound.forEach((doc, i) => {
    const m = mappings.get(doc.mapping);
    if (!m && !broken.has(doc.mapping)) ref(['inbound', i, 'mapping'], `mapping profile "${doc.mapping}" does not exist under mappings/`);
    else if (m && m.target.type !== doc.type) ref(['inbound', i, 'mapping'], `mapping profile "${doc.mapping}" produces ${m.target.type}, not ${doc.type}`);
  });
  partner.outbound.forEach((doc, i) => {
    const m = outbound.get(doc.mapping);
    if (!m && broken.has(doc.mapping)) return;
    if (!m)
      ref(
        ['outbound', i, 'mapping'],
        mappings.has(doc.mapping)
          ? `"${doc.mapping}" is an inbound profile; outbound documents need a profile with source.format canonical`
          : `outbound profile "${doc.mapping}" does not exist under mappings/`,
      );
    else if (m.source.type !== doc.type) ref(['outbound', i, 'mapping'], `outbound profile "${doc.mapping}" renders ${m.source.type}, not ${doc.type}`);
    else if (m.target.format !== doc.format) ref(['outbound', i, 'format'], `outbound profile "${doc.mapping}" writes ${m.target.format}, not ${doc.format}`);
  });
  return errs;
}

/** Rules across fields that the schema cannot say. */
function checkPartnerRules(y: YamlFile, partner: PartnerProfile): GatewayError[] {
  const errs: GatewayError[] = [];
  const expectedId = path.basename(partner.file).replace(/\.ya?ml$/, '');
  if (partner.id !== expectedId) errs.push(fail(y, ['id'], `the partner id must equal the file name "${expectedId}", found "${partner.id}"`));
  partner.credentials.sshKeys.forEach((k, i) => {
    const parsed = parsePublicKey(k.key);
    if (parsed instanceof Error) errs.push(fail(y, ['credentials', 'sshKeys', i, 'key'], `not an OpenSSH public key (${parsed.message})`));
  });
  const sendsX12 = partner.outbound.some((o) => o.format === 'x12');
  if (sendsX12 && !partner.x12.ourId)
    errs.push(fail(y, ['outbound'], 'a partner that is sent X12 documents needs x12.ourId (our ISA05/ISA06)', 'GW_CONFIG_REFERENCE', true));
  if (sendsX12 && !partner.x12.partnerId && !partner.identifiers.x12?.length)
    errs.push(
      fail(y, ['outbound'], 'a partner that is sent X12 documents needs x12.partnerId or identifiers.x12 (its ISA07/ISA08)', 'GW_CONFIG_REFERENCE', true),
    );
  if (partner.outbound.some((o) => o.format === 'edifact') && (!partner.edifact.ourId || !partner.identifiers.edifact?.length))
    errs.push(
      fail(
        y,
        ['outbound'],
        'a partner that is sent EDIFACT documents needs edifact.ourId (our UNB sender) and identifiers.edifact (its UNB id)',
        'GW_CONFIG_REFERENCE',
        true,
      ),
    );
  const d = partner.x12.outbound.delimiters;
  if (new Set([d.element, d.component, d.segment, d.repetition]).size !== 4)
    errs.push(fail(y, ['x12', 'outbound', 'delimiters'], 'the four delimiters must differ from each other'));
  if (partner.channels.includes('as2') && !partner.as2)
    errs.push(fail(y, ['channels'], 'the as2 channel needs an as2 agreement (as2.id, as2.certificates)', 'GW_CONFIG_REFERENCE', true));
  if (partner.oauth.certificateBound && !partner.mtls)
    errs.push(
      fail(y, ['oauth', 'certificateBound'], "certificate-bound tokens need the partner's TLS client certificate pinned under mtls", 'GW_CONFIG_REFERENCE'),
    );
  return errs;
}

async function checkRemoteSftp(y: YamlFile, partner: PartnerProfile, errs: GatewayError[]): Promise<void> {
  const remote = partner.sftp?.remote;
  if (!remote) return;
  remote.hostKey.forEach((k, i) => {
    const parsed = parsePublicKey(k);
    if (parsed instanceof Error) errs.push(fail(y, ['sftp', 'remote', 'hostKey', i], `not an OpenSSH public key (${parsed.message})`));
  });
  const key = await readFile(remote.privateKey, 'utf8').then(parsePrivateKey, (err: Error) => err);
  if (key instanceof Error)
    errs.push(fail(y, ['sftp', 'remote', 'privateKey'], `cannot use ${remote.privateKey} as the login key (${key.message})`, 'GW_CONFIG_REFERENCE'));
  if (remote.pickup?.after === 'move' && !remote.pickup.moveTo)
    errs.push(fail(y, ['sftp', 'remote', 'pickup'], 'after: move needs moveTo (the remote folder picked-up files go to)'));
}

/** Loads, validates and freezes every partner and mapping profile. Throws every problem of every file at once. */
export async function loadConfig(opts: LoadOptions): Promise<GatewayConfig> {
  const errs: GatewayError[] = [];
  const { mappings, outbound, broken } = await loadMappings(opts, errs);
  const partners = new Map<string, PartnerProfile>();
  // API key ids select the key at authentication, so they are unique across (and within) partners.
  const apiKeyOwners = new Map<string, PartnerProfile>();
  const as2 = new Map<string, As2Partner>();
  const clients = new Map<string, PartnerProfile>();
  const externalSubjects = new Map<string, PartnerProfile>();
  const mtlsCas = new Map<string, X509Certificate>();
  const unique = <T extends { id: string }>(map: Map<string, T>, key: string, p: T, what: string, file: string, why = '') => {
    const other = map.get(key);
    if (other && other.id !== p.id)
      errs.push(new GatewayError('GW_CONFIG_INVALID', `${file}: ${what} "${key}" is also used by partner ${other.id}${why}`, { location: { file } }));
    else map.set(key, p);
  };
  for (const file of await yamlFiles(opts.partnersDir)) {
    const fileErrs: GatewayError[] = [];
    const loaded = await noting(fileErrs, () => loadPartner(file, { mappings, outbound, broken }, opts, fileErrs));
    errs.push(...fileErrs);
    if (!loaded) continue;
    const p = deepFreeze(loaded.partner);
    unique(clients, p.oauth.clientId, p, 'OAuth client id', file);
    for (const s of p.oauth.externalSubjects) unique(externalSubjects, s, p, 'external subject', file);
    if (loaded.mtlsCa) mtlsCas.set(p.id, loaded.mtlsCa);
    const as2Owner = p.as2 ? as2.get(p.as2.id)?.partner : undefined;
    if (as2Owner)
      errs.push(
        new GatewayError('GW_CONFIG_INVALID', `${file}: AS2 name "${p.as2?.id}" is also used by partner ${as2Owner.id}; AS2 names must be unique`, {
          location: { file },
        }),
      );
    else if (p.as2) as2.set(p.as2.id, { partner: p, certs: loaded.certs });
    for (const key of p.credentials.apiKeys) unique(apiKeyOwners, key.id, p, 'API key id', file, '; key ids must be unique');
    partners.set(p.id, p);
  }
  const distinct = inFileOrder([...new Map(errs.map((e) => [e.message, e])).values()]);
  if (distinct.length === 1) throw distinct[0];
  if (distinct.length) throw new ConfigErrors(distinct);
  return { partners, mappings, outbound, as2, clients, externalSubjects, mtlsCas };
}
