import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, importJWK, importSPKI, type JWK } from 'jose';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { audit } from './audit.js';
import { isScope } from './scopes.js';
import type { MasterKeys, Sealed } from './secrets.js';
import { parsePublicKey } from './ssh-keys.js';
import { notify } from '../store/signals.js';
import { CredentialUsage } from './credential-usage.js';
import { VerificationCache } from './verification-cache.js';

/**
 * Every credential kind the gateway knows. Partner kinds belong to one partner; `signing-key` (our
 * token-signing keys) and `erp-signing-secret` (what signs deliveries to the ERP) are the gateway's.
 */
export const CREDENTIAL_KINDS = [
  'api-key',
  'client-secret',
  'jwt-key',
  'tls-cert',
  'ssh-key',
  'as2-cert',
  'webhook-secret',
  'signing-key',
  'erp-signing-secret',
] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];
export const GATEWAY_KINDS: readonly CredentialKind[] = ['signing-key', 'erp-signing-secret'];

export function isCredentialKind(s: string): s is CredentialKind {
  return (CREDENTIAL_KINDS as readonly string[]).includes(s);
}

/** One credential, from the store or from a partner profile, with its effective validity. */
export interface Credential {
  kind: CredentialKind;
  ref: string;
  partnerId: string | null;
  /** `store`: issued with `gateway creds` or the admin API; `yaml`: listed in the partner profile. */
  source: 'store' | 'yaml';
  public: Record<string, unknown>;
  secret: Sealed | null;
  scopes: string[] | null;
  notBefore: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date | null;
  createdBy: string | null;
  /** When it last authenticated someone (lists only; see credential-usage.ts); null: never seen. */
  lastUsedAt?: Date | null;
}

export function usableAt(c: Credential, now = new Date()): boolean {
  return !c.revokedAt && c.notBefore <= now && (!c.expiresAt || c.expiresAt > now);
}

export function credentialState(c: Credential, now = new Date()): 'active' | 'next' | 'expired' | 'revoked' {
  if (c.revokedAt) return 'revoked';
  if (c.expiresAt && c.expiresAt <= now) return 'expired';
  return c.notBefore > now ? 'next' : 'active';
}

/** Why a credential cannot be used now, for the error message; undefined when it can. */
export function unusableBecause(c: Credential, now = new Date()): string | undefined {
  const state = credentialState(c, now);
  if (state === 'revoked') return 'is revoked';
  if (state === 'expired') return `expired at ${c.expiresAt?.toISOString()}`;
  if (state === 'next') return `is valid from ${c.notBefore.toISOString()}`;
  return undefined;
}

/** Who changes a credential, and from where: written to the audit log. */
export interface Actor {
  actor: string;
  source: string;
}

export interface IssueRequest {
  kind: CredentialKind;
  /** The partner (null for the gateway's own kinds). */
  partnerId: string | null;
  /** Public key, certificate or authorized_keys line, for the kinds the partner supplies. */
  material?: string;
  expiresAt?: Date;
  scopes?: string[];
  /** Signing keys: published this many seconds before they sign (default 0 for the first key). */
  publishSeconds?: number;
}

export interface Issued {
  credential: Credential;
  /** The secret, for the kinds the gateway makes: shown once, never stored in the clear. */
  secret?: string;
  /** Credentials that stop working when the overlap ends (rotate). */
  retiring?: Credential[];
}

export function sha256Hex(s: string | Buffer): string {
  return createHash('sha256').update(s).digest('hex');
}

/** A hex SHA-256 fingerprint without colons, lower case. */
export function normalizeFingerprint(fp: string): string {
  return fp.replaceAll(':', '').toLowerCase();
}

export function certFingerprint(cert: X509Certificate): string {
  return sha256Hex(cert.raw);
}

function endOfDay(date: string): Date {
  return new Date(`${date}T23:59:59.999Z`);
}

interface Row {
  id: string;
  partner_id: string | null;
  kind: CredentialKind;
  ref: string;
  public: Record<string, unknown>;
  secret: Sealed | null;
  scopes: string[] | null;
  not_before: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
  created_by: string;
}

/** A profile credential with its retirement applied: revoked at once, or ending at the end of its overlap. */
function retired(c: Credential, r: { effective_at: Date; revoked: boolean }): Credential {
  if (r.revoked) return { ...c, revokedAt: r.effective_at };
  return { ...c, expiresAt: c.expiresAt && c.expiresAt < r.effective_at ? c.expiresAt : r.effective_at };
}

function fromRow(r: Row): Credential {
  return {
    kind: r.kind,
    ref: r.ref,
    partnerId: r.partner_id,
    source: 'store',
    public: r.public,
    secret: r.secret,
    scopes: r.scopes,
    notBefore: r.not_before,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    createdAt: r.created_at,
    createdBy: r.created_by,
  };
}

/** Credentials declared in partner profiles (of one partner, of one kind), as the store shows them. */
export function yamlCredentials(config: GatewayConfig, partnerId?: string, kind?: CredentialKind): Credential[] {
  const out: Credential[] = [];
  const base = { source: 'yaml' as const, secret: null, notBefore: new Date(0), revokedAt: null, createdAt: null, createdBy: null };
  const want = (k: CredentialKind) => !kind || kind === k;
  for (const p of config.partners.values()) {
    if (partnerId && p.id !== partnerId) continue;
    if (want('api-key'))
      for (const k of p.credentials.apiKeys)
        out.push({
          ...base,
          kind: 'api-key',
          ref: k.id,
          partnerId: p.id,
          public: { sha256: k.sha256 },
          scopes: k.scopes ?? null,
          expiresAt: k.expires ? endOfDay(k.expires) : null,
        });
    for (const k of want('ssh-key') ? p.credentials.sshKeys : []) {
      const pk = parsePublicKey(k.key);
      if (!(pk instanceof Error))
        out.push({
          ...base,
          kind: 'ssh-key',
          ref: pk.fingerprint,
          partnerId: p.id,
          public: { key: k.key },
          scopes: k.scopes ?? null,
          expiresAt: k.expires ? endOfDay(k.expires) : null,
        });
    }
    for (const c of want('tls-cert') ? (p.mtls?.certificates ?? []) : [])
      out.push({
        ...base,
        kind: 'tls-cert',
        ref: normalizeFingerprint(c.sha256),
        partnerId: p.id,
        public: {},
        scopes: null,
        expiresAt: c.expires ? endOfDay(c.expires) : null,
      });
    const as2 = p.as2 && want('as2-cert') ? config.as2.get(p.as2.id) : undefined;
    for (const c of as2?.certs ?? []) {
      const x = c.x509;
      out.push({
        ...base,
        kind: 'as2-cert',
        ref: certFingerprint(x),
        partnerId: p.id,
        public: { subject: x.subject, pem: x.toString() },
        scopes: null,
        notBefore: new Date(x.validFrom),
        expiresAt: new Date(x.validTo),
      });
    }
  }
  return out;
}

/** Material given for a kind the partner supplies, checked; its reference and public form. */
async function readMaterial(
  kind: CredentialKind,
  material: string | undefined,
): Promise<{ ref: string; public: Record<string, unknown>; expiresAt?: Date; notBefore?: Date }> {
  if (!material) throw new GatewayError('GW_CRED_INVALID', `A ${kind} needs its public material (--file).`);
  if (/PRIVATE KEY/.test(material))
    throw new GatewayError('GW_CRED_INVALID', `That is a private key; give the ${kind === 'jwt-key' ? 'public key' : 'certificate'} only.`);
  try {
    if (kind === 'jwt-key') {
      const trimmed = material.trim();
      const key = trimmed.startsWith('{')
        ? await importJWK(JSON.parse(trimmed) as JWK, (JSON.parse(trimmed) as JWK).alg ?? 'RS256')
        : await importSPKI(trimmed, 'RS256', { extractable: true }).catch(() => importSPKI(trimmed, 'ES256', { extractable: true }));
      const jwk = await exportJWK(key as Parameters<typeof exportJWK>[0]);
      if ('d' in jwk) throw new Error('a private JWK');
      return { ref: await calculateJwkThumbprint(jwk), public: { jwk } };
    }
    if (kind === 'tls-cert' || kind === 'as2-cert') {
      const x = new X509Certificate(material);
      return {
        ref: certFingerprint(x),
        public: { subject: x.subject, issuer: x.issuer, ...(kind === 'as2-cert' ? { pem: x.toString() } : {}) },
        expiresAt: new Date(x.validTo),
        notBefore: new Date(x.validFrom),
      };
    }
    if (kind === 'ssh-key') {
      const pk = parsePublicKey(material.trim());
      if (pk instanceof Error) throw pk;
      return { ref: pk.fingerprint, public: { key: material.trim() } };
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('GW_CRED_INVALID', `Not a usable ${kind}: ${(err as Error).message}.`);
  }
  throw new GatewayError('GW_CRED_INVALID', `The gateway makes ${kind} credentials itself; give no material.`);
}

/**
 * Credentials are checked against the store on every request and fail closed: with the database
 * down nothing is authenticated, and the caller hears 503 (retry), not 401 (wrong credentials).
 */
async function reachable<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('GW_STORE_UNAVAILABLE', 'The credential store is not reachable; nothing was accepted. Retry later.', { cause: err });
  }
}

const SECRET_PREFIX: Partial<Record<CredentialKind, string>> = {
  'api-key': 'gw',
  'client-secret': 'gwcs',
  'webhook-secret': 'whsec',
  'erp-signing-secret': 'whsec',
};

/** What a presented secret looks like: `<prefix>_<ref>_<random>`. */
const SECRET_SHAPE: Record<'api-key' | 'client-secret', RegExp> = {
  'api-key': /^gw_([a-z0-9]{4,32})_[A-Za-z0-9_-]{32,}$/,
  'client-secret': /^gwcs_([a-z0-9]{4,32})_[A-Za-z0-9_-]{32,}$/,
};

/**
 * Credentials issued, rotated and revoked at run time, over the ones partner profiles list. Every
 * change notifies every process (src/store/signals.ts) in its transaction; verifications of
 * presented secrets are cached only while those notifications are heard (`verified`), so a
 * revocation takes effect on the next request, in every process.
 */
export class CredentialStore {
  /** Recent answers of verifySecret; server.ts trusts it only while notifications flow. */
  readonly verified = new VerificationCache<Credential | undefined>();
  /** Last uses, noted by the doors when a credential authenticates someone. */
  readonly usage = new CredentialUsage();

  constructor(
    private readonly knex: Knex,
    readonly keys: MasterKeys,
    private readonly config: () => GatewayConfig,
  ) {}

  /** Store and profile credentials (retirements applied), newest first. */
  list(filter: { partnerId?: string; kind?: CredentialKind } = {}): Promise<Credential[]> {
    return reachable(this.listFrom(filter));
  }

  private async listFrom(filter: { partnerId?: string; kind?: CredentialKind }): Promise<Credential[]> {
    const q = this.knex<Row>('credentials').select('*').orderBy('created_at', 'desc');
    if (filter.partnerId) q.where('partner_id', filter.partnerId);
    if (filter.kind) q.where('kind', filter.kind);
    const stored = (await q).map(fromRow);
    const yaml = await this.withRetirements(yamlCredentials(this.config(), filter.partnerId, filter.kind));
    return this.withLastUses([...stored, ...yaml]);
  }

  /** The credentials with `lastUsedAt` filled in (lists and pages; never on the authentication path). */
  async withLastUses(list: Credential[]): Promise<Credential[]> {
    const used = await this.usage.lastUses(this.knex, list);
    return list.map((c) => ({ ...c, lastUsedAt: used.get(`${c.kind} ${c.ref}`) ?? null }));
  }

  /** A door authenticated someone with `c` (noted in memory; written by `flushUsage`). */
  noteUse(c: Pick<Credential, 'kind' | 'ref'>): void {
    this.usage.note(c.kind, c.ref);
  }

  /** Writes the uses noted since the last flush; run every CREDENTIAL_USAGE_FLUSH_MS and at stop. */
  flushUsage(): Promise<number> {
    return this.usage.flush(this.knex);
  }

  /** The credentials of a kind (of one partner, or the gateway's with null) usable now. */
  usable(kind: CredentialKind, partnerId: string | null, now = new Date()): Promise<Credential[]> {
    return reachable(this.usableFrom(kind, partnerId, now));
  }

  private async usableFrom(kind: CredentialKind, partnerId: string | null, now: Date): Promise<Credential[]> {
    const q = this.knex<Row>('credentials').select('*').where('kind', kind).whereNull('revoked_at').orderBy('not_before', 'desc');
    if (partnerId === null) q.whereNull('partner_id');
    else q.where('partner_id', partnerId);
    const stored = (await q).map(fromRow);
    const yaml = partnerId === null ? [] : await this.withRetirements(yamlCredentials(this.config(), partnerId, kind));
    return [...stored, ...yaml].filter((c) => usableAt(c, now));
  }

  /** One credential by kind and reference, whatever its state. */
  find(kind: CredentialKind, ref: string): Promise<Credential | undefined> {
    return reachable(this.findFrom(kind, ref));
  }

  /**
   * One round trip (this runs on every partner request): the stored credential, or else the
   * retirement of the profile's credential of that reference.
   */
  private async findFrom(kind: CredentialKind, ref: string): Promise<Credential | undefined> {
    const { rows } = await this.knex.raw<{ rows: (Row & { retired_at: Date | null; retired_revoked: boolean | null })[] }>(
      `SELECT c.*, r.effective_at AS retired_at, r.revoked AS retired_revoked
         FROM (SELECT 1) one
         LEFT JOIN credentials c ON c.kind = :kind AND c.ref = :ref
         LEFT JOIN credential_retirements r ON r.kind = :kind AND r.ref = :ref`,
      { kind, ref },
    );
    const found = rows[0];
    if (found?.id) return fromRow(found);
    const yaml = yamlCredentials(this.config(), undefined, kind).find((c) => c.ref === ref);
    if (!yaml || !found?.retired_at) return yaml;
    return retired(yaml, { effective_at: found.retired_at, revoked: Boolean(found.retired_revoked) });
  }

  private async withRetirements(list: Credential[]): Promise<Credential[]> {
    if (!list.length) return list;
    const rows: { kind: string; ref: string; effective_at: Date; revoked: boolean }[] = await this.knex('credential_retirements').whereIn(
      ['kind', 'ref'],
      list.map((c) => [c.kind, c.ref]) as [string, string][],
    );
    const by = new Map(rows.map((r) => [`${r.kind} ${r.ref}`, r]));
    return list.map((c) => {
      const r = by.get(`${c.kind} ${c.ref}`);
      return r ? retired(c, r) : c;
    });
  }

  /**
   * The credential a presented secret of a gateway-made kind (`<prefix>_<ref>_<random>`) matches by
   * hash, whatever its state (the caller says "expired" or "revoked"); undefined when none does.
   */
  async verifySecret(kind: 'api-key' | 'client-secret', presented: string): Promise<Credential | undefined> {
    const m = SECRET_SHAPE[kind].exec(presented);
    if (!m) return undefined;
    const presentedHash = sha256Hex(presented);
    const key = `${kind}:${presentedHash}`;
    const cached = this.verified.get(key);
    if (cached) return cached.value;
    const generation = this.verified.begin();
    const c = await this.find(kind, m[1] as string);
    const hash = typeof c?.public.sha256 === 'string' ? c.public.sha256 : undefined;
    const verified = c && hash && timingSafeEqual(Buffer.from(presentedHash, 'hex'), Buffer.from(hash, 'hex')) ? c : undefined;
    this.verified.set(key, verified, generation);
    return verified;
  }

  /**
   * Runs a change to credentials in one transaction that also notifies every process, and forgets
   * this process's cached verifications once it has committed.
   */
  private async change<T>(work: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
    try {
      return await this.knex.transaction(async (trx) => {
        const result = await work(trx);
        await notify(trx, 'credentials');
        return result;
      });
    } finally {
      this.verified.invalidate();
    }
  }

  /** The secret of a sealed credential. */
  open(c: Credential): Buffer {
    if (!c.secret) throw new GatewayError('GW_CRED_INVALID', `${c.kind} ${c.ref} holds no secret.`);
    return this.keys.open(c.secret);
  }

  async issue(req: IssueRequest, by: Actor): Promise<Issued> {
    return this.change(async (trx) => {
      const issued = await this.create(trx, req, by);
      await audit(trx, {
        ...by,
        action: 'credential.issue',
        target: `${req.kind}:${issued.credential.ref}`,
        outcome: 'ok',
        details: { partner: req.partnerId, expiresAt: issued.credential.expiresAt, notBefore: issued.credential.notBefore },
      });
      return issued;
    });
  }

  /**
   * Issues a new credential and ends the partner's current ones of the kind when the overlap is
   * over (signing keys: once the tokens they signed have expired). Both work inside the overlap.
   */
  async rotate(req: IssueRequest & { overlapSeconds: number }, by: Actor): Promise<Issued> {
    const before = await this.usable(req.kind, req.partnerId);
    const upcoming = req.kind === 'signing-key' ? (await this.list({ kind: 'signing-key' })).filter((c) => credentialState(c) === 'next') : [];
    if (upcoming.length)
      throw new GatewayError(
        'GW_CRED_INVALID',
        `Signing key ${upcoming[0]?.ref} is published and starts signing at ${upcoming[0]?.notBefore.toISOString()}; rotate again after that.`,
      );
    return this.change(async (trx) => {
      const issued = await this.create(trx, req, by);
      const endAt = new Date(Math.max(Date.now(), issued.credential.notBefore.getTime()) + req.overlapSeconds * 1000);
      const retiring: Credential[] = [];
      for (const c of before) {
        if (c.ref === issued.credential.ref) continue;
        if (c.expiresAt && c.expiresAt <= endAt) {
          retiring.push(c);
          continue;
        }
        if (c.source === 'store') await trx('credentials').where({ kind: c.kind, ref: c.ref }).update({ expires_at: endAt });
        else
          await trx('credential_retirements')
            .insert({ kind: c.kind, ref: c.ref, partner_id: c.partnerId, effective_at: endAt, revoked: false, created_by: by.actor })
            .onConflict(['kind', 'ref'])
            .merge(['effective_at', 'revoked', 'created_by']);
        retiring.push({ ...c, expiresAt: endAt });
      }
      await audit(trx, {
        ...by,
        action: 'credential.rotate',
        target: `${req.kind}:${issued.credential.ref}`,
        outcome: 'ok',
        details: { partner: req.partnerId, overlapSeconds: req.overlapSeconds, retiring: retiring.map((c) => ({ ref: c.ref, until: c.expiresAt })) },
      });
      return { ...issued, retiring };
    });
  }

  /** Ends a credential at once. */
  async revoke(kind: CredentialKind, ref: string, by: Actor): Promise<Credential> {
    const c = await this.find(kind, ref);
    if (!c) throw new GatewayError('GW_CRED_UNKNOWN', `No ${kind} ${ref}.`);
    const now = new Date();
    await this.change(async (trx) => {
      if (c.source === 'store') await trx('credentials').where({ kind, ref }).update({ revoked_at: now });
      else
        await trx('credential_retirements')
          .insert({ kind, ref, partner_id: c.partnerId, effective_at: now, revoked: true, created_by: by.actor })
          .onConflict(['kind', 'ref'])
          .merge(['effective_at', 'revoked', 'created_by']);
      await audit(trx, { ...by, action: 'credential.revoke', target: `${kind}:${ref}`, outcome: 'ok', details: { partner: c.partnerId, source: c.source } });
    });
    return { ...c, revokedAt: now };
  }

  private async create(trx: Knex.Transaction, req: IssueRequest, by: Actor): Promise<Issued> {
    const gatewayKind = GATEWAY_KINDS.includes(req.kind);
    if (gatewayKind && req.partnerId) throw new GatewayError('GW_CRED_INVALID', `A ${req.kind} belongs to the gateway, not to a partner.`);
    if (!gatewayKind) {
      if (!req.partnerId || !this.config().partners.has(req.partnerId))
        throw new GatewayError('GW_CRED_UNKNOWN', `No partner ${req.partnerId ?? '(none given)'}.`);
    }
    const badScope = req.scopes?.find((s) => !isScope(s));
    if (badScope) throw new GatewayError('GW_CRED_INVALID', `Unknown scope ${badScope}.`);
    const now = new Date();
    let ref: string;
    let pub: Record<string, unknown> = {};
    let secret: Sealed | null = null;
    let shown: string | undefined;
    let notBefore = now;
    let expiresAt = req.expiresAt ?? null;
    const prefix = SECRET_PREFIX[req.kind];
    if (req.kind === 'signing-key') {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const jwk = { ...(await exportJWK(pair.publicKey)), alg: 'ES256', use: 'sig' };
      ref = await calculateJwkThumbprint(jwk);
      pub = { jwk: { ...jwk, kid: ref } };
      secret = this.keys.seal(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string);
      notBefore = new Date(now.getTime() + (req.publishSeconds ?? 0) * 1000);
    } else if (prefix) {
      ref = randomBytes(8).toString('hex');
      const value =
        req.kind === 'webhook-secret' || req.kind === 'erp-signing-secret'
          ? `${prefix}_${randomBytes(32).toString('base64url')}`
          : `${prefix}_${ref}_${randomBytes(32).toString('base64url')}`;
      shown = value;
      if (req.kind === 'api-key' || req.kind === 'client-secret') pub = { sha256: sha256Hex(value) };
      else secret = this.keys.seal(value);
    } else {
      const m = await readMaterial(req.kind, req.material);
      ref = m.ref;
      pub = m.public;
      if (m.notBefore && m.notBefore > now) notBefore = m.notBefore;
      if (m.expiresAt && (!expiresAt || m.expiresAt < expiresAt)) expiresAt = m.expiresAt;
    }
    if (yamlCredentials(this.config(), undefined, req.kind).some((c) => c.ref === ref))
      throw new GatewayError('GW_CRED_INVALID', `${req.kind} ${ref} is already listed in a partner profile.`);
    const row = {
      id: `cred_${randomBytes(10).toString('hex')}`,
      partner_id: req.partnerId,
      kind: req.kind,
      ref,
      public: JSON.stringify(pub),
      secret: secret ? JSON.stringify(secret) : null,
      scopes: req.scopes ?? null,
      not_before: notBefore,
      expires_at: expiresAt,
      created_by: by.actor,
    };
    const inserted = await trx('credentials').insert(row).onConflict(['kind', 'ref']).ignore().returning('*');
    if (!inserted.length) throw new GatewayError('GW_CRED_INVALID', `${req.kind} ${ref} exists already (revoke it, or give another).`);
    return { credential: fromRow(inserted[0] as Row), ...(shown ? { secret: shown } : {}) };
  }
}
