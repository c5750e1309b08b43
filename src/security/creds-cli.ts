import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { audit, readAudit } from './audit.js';
import {
  CREDENTIAL_KINDS,
  credentialState,
  CredentialStore,
  GATEWAY_KINDS,
  isCredentialKind,
  type Actor,
  type Credential,
  type CredentialKind,
} from './credentials.js';
import { expiringCredentials } from './expiry.js';
import { MasterKeys, newMasterKey, parseMasterKey, resealKeyFiles, rotateMasterKey, type RewrapSealed } from './secrets.js';

export const CREDS_USAGE = `  creds list [--partner P] [--kind K]        every credential (profile and store) with its state and expiry
  creds issue <kind> [partner] [--file F] [--expires 90d|2027-06-30] [--scopes "asn:write po:read"]
                                     a new credential beside the current ones; secrets are printed once
  creds rotate <kind> [partner] [--file F] [--overlap 7d] [--publish 5m]
                                     a new credential; the current ones stop after the overlap
  creds revoke <kind> <ref>          end one credential now
  creds expiring [--within 30]       what expires within N days (exit 1 when anything does)
  kinds: ${CREDENTIAL_KINDS.join(', ')}
  secrets rotate-master-key <file>   re-wrap every secret at rest under the key in <file> (made if missing)
  audit [--action A] [--limit N]     the newest audit log entries`;

/** `7d`, `12h`, `30m`, `45s` or a bare number of seconds. */
export function parseDuration(v: string, what: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(v.trim());
  if (!m) throw new GatewayError('GW_CRED_INVALID', `${what} must look like 7d, 12h, 30m, 45s or a number of seconds (found "${v}").`);
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

function expiresFrom(v: string | undefined): Date | undefined {
  if (!v) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return new Date(`${v}T23:59:59.999Z`);
  return new Date(Date.now() + parseDuration(v, '--expires') * 1000);
}

export function cliActor(): Actor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (containers): the host still says where from
  }
  return { actor: `cli:${user}`, source: `cli@${hostname()}` };
}

function line(c: Credential): string {
  const until = c.expiresAt ? c.expiresAt.toISOString() : 'no expiry';
  const from = c.notBefore > new Date() ? ` from ${c.notBefore.toISOString()}` : '';
  return (
    `${c.kind.padEnd(18)} ${(c.partnerId ?? '(gateway)').padEnd(16)} ${c.ref.padEnd(44)} ` +
    `${credentialState(c).padEnd(8)} ${c.source.padEnd(5)} ${until}${from}${c.scopes ? `  [${c.scopes.join(' ')}]` : ''}` +
    (c.lastUsedAt ? `  last used ${c.lastUsedAt.toISOString()}` : '')
  );
}

export interface CredsContext {
  knex: Knex;
  config: GatewayConfig;
  keys: MasterKeys;
  out: (s: string) => void;
}

type Values = Record<string, string | undefined>;

/** `gateway creds …`: returns the exit code. */
export async function credsCommand(args: string[], v: Values, ctx: CredsContext): Promise<number> {
  const store = new CredentialStore(ctx.knex, ctx.keys, () => ctx.config);
  const [sub, kindArg, third] = args;
  const kind = (): CredentialKind => {
    if (!kindArg || !isCredentialKind(kindArg)) throw new GatewayError('GW_CRED_INVALID', `Name a kind: ${CREDENTIAL_KINDS.join(', ')}.`);
    return kindArg;
  };
  const request = () => {
    const k = kind();
    const partnerId = GATEWAY_KINDS.includes(k) ? null : (third ?? null);
    if (!GATEWAY_KINDS.includes(k) && !partnerId) throw new GatewayError('GW_CRED_INVALID', `A ${k} belongs to a partner: name it after the kind.`);
    const expiresAt = expiresFrom(v.expires);
    return {
      kind: k,
      partnerId,
      ...(v.file ? { material: readFileSync(v.file, 'utf8') } : {}),
      ...(expiresAt ? { expiresAt } : {}),
      ...(v.scopes ? { scopes: v.scopes.split(/[\s,]+/).filter(Boolean) } : {}),
      ...(v.publish ? { publishSeconds: parseDuration(v.publish, '--publish') } : {}),
    };
  };
  const show = (issued: { credential: Credential; secret?: string; retiring?: Credential[] }) => {
    ctx.out(line(issued.credential));
    for (const r of issued.retiring ?? []) ctx.out(`  retiring: ${line(r)}`);
    if (issued.secret) ctx.out(`\nsecret (shown once; only its hash or sealed form is kept):\n${issued.secret}`);
  };
  switch (sub) {
    case 'list': {
      const k = v.kind;
      if (k && !isCredentialKind(k)) throw new GatewayError('GW_CRED_INVALID', `--kind must be one of ${CREDENTIAL_KINDS.join(', ')}.`);
      for (const c of await store.list({ ...(v.partner ? { partnerId: v.partner } : {}), ...(k ? { kind: k as CredentialKind } : {}) })) ctx.out(line(c));
      return 0;
    }
    case 'issue':
      show(await store.issue(request(), cliActor()));
      return 0;
    case 'rotate': {
      const req = request();
      // Signing keys: published 5 minutes before they sign (JWKS caches refresh), old ones kept until their tokens expire.
      const publishSeconds = req.kind === 'signing-key' ? (req.publishSeconds ?? 300) : undefined;
      const overlapSeconds = v.overlap ? parseDuration(v.overlap, '--overlap') : req.kind === 'signing-key' ? 3600 : 7 * 86_400;
      show(await store.rotate({ ...req, ...(publishSeconds !== undefined ? { publishSeconds } : {}), overlapSeconds }, cliActor()));
      return 0;
    }
    case 'revoke': {
      if (!third) throw new GatewayError('GW_CRED_INVALID', 'Name the credential: creds revoke <kind> <ref> (refs: creds list).');
      ctx.out(line(await store.revoke(kind(), third, cliActor())));
      return 0;
    }
    case 'expiring': {
      const within = v.within ? Number(v.within) : 30;
      const soon = await expiringCredentials(store, within);
      for (const e of soon) ctx.out(`${line(e.credential)}  (${e.daysLeft} day(s) left)`);
      if (!soon.length) ctx.out(`nothing expires within ${within} day(s)`);
      return soon.length ? 1 : 0;
    }
  }
  return 2;
}

/**
 * `gateway secrets rotate-master-key <file>`: re-wraps every sealed secret in the store and re-seals
 * the private key files (AS2 key pairs, SFTP host keys); prints what to set next.
 */
export async function rotateMasterKeyCommand(
  file: string,
  ctx: CredsContext,
  keyDirs: readonly string[],
  others: readonly RewrapSealed[] = [],
): Promise<number> {
  if (!existsSync(file)) writeFileSync(file, newMasterKey(), { mode: 0o600, flag: 'wx' });
  const next = parseMasterKey(readFileSync(file, 'utf8'), file);
  const n = await rotateMasterKey(ctx.knex, ctx.keys, next, others);
  const files = resealKeyFiles(keyDirs, ctx.keys, next);
  await audit(ctx.knex, {
    ...cliActor(),
    action: 'secrets.rotate-master-key',
    target: `master-key:${new MasterKeys(next).id}`,
    outcome: 'ok',
    details: { from: ctx.keys.id, secrets: n, keyFiles: files },
  });
  ctx.out(`${n} secret(s) re-wrapped and ${files} key file(s) re-sealed under master key ${new MasterKeys(next).id} (was ${ctx.keys.id}).`);
  ctx.out(
    `Now set GATEWAY_MASTER_KEY_FILE=${file} for every gateway process, and keep the old key as GATEWAY_MASTER_KEY_PREVIOUS_FILE until all have restarted.`,
  );
  return 0;
}

export async function auditCommand(v: Values, ctx: CredsContext): Promise<number> {
  const rows = await readAudit(ctx.knex, { ...(v.action ? { action: v.action } : {}), limit: Number(v.limit ?? 50) || 50 });
  for (const r of rows.reverse())
    ctx.out(
      `${r.at.toISOString()} ${r.actor} ${r.action} ${r.target ?? '-'} ${r.outcome} from ${r.source ?? '-'}${r.details ? ` ${JSON.stringify(r.details)}` : ''}`,
    );
  return 0;
}
