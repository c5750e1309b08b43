import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';

/**
 * Secrets at rest, by envelope encryption: each secret is encrypted (AES-256-GCM) with a data key of
 * its own, and the data key is encrypted with the master key. Rotating the master key re-wraps the
 * small data keys only; the secrets themselves are not touched.
 */
export interface Sealed {
  v: 1;
  /** Which master key wrapped the data key (first 16 hex digits of its SHA-256). */
  kek: string;
  /** The data key, wrapped: base64 of IV (12) | tag (16) | ciphertext. */
  key: string;
  /** The secret: base64 of IV | tag | ciphertext under the data key. */
  data: string;
}

function gcmSeal(key: Buffer, plain: Buffer, aad: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(aad));
  const body = Buffer.concat([c.update(plain), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
}

function gcmOpen(key: Buffer, sealed: string, aad: string): Buffer {
  const b = Buffer.from(sealed, 'base64');
  const d = createDecipheriv('aes-256-gcm', key, b.subarray(0, 12)).setAAD(Buffer.from(aad));
  d.setAuthTag(b.subarray(12, 28));
  return Buffer.concat([d.update(b.subarray(28)), d.final()]);
}

export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Reads a master key: 32 bytes as base64 (or 64 hex digits). */
export function parseMasterKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new GatewayError('GW_SECRET_KEY', `${where} must hold a 256-bit key as base64 or hex (found ${key.length} bytes).`);
  return key;
}

export function newMasterKey(): string {
  return `${randomBytes(32).toString('base64')}\n`;
}

/** The master key that seals, and previous ones that still open during a master key rotation. */
export class MasterKeys {
  readonly id: string;
  private readonly byId: Map<string, Buffer>;

  constructor(
    private readonly current: Buffer,
    previous: Buffer[] = [],
    /** Where the key came from, for messages. */
    readonly source = 'the master key',
  ) {
    this.id = masterKeyId(current);
    this.byId = new Map([...previous, current].map((k) => [masterKeyId(k), k]));
  }

  seal(plain: Buffer | string): Sealed {
    const dataKey = randomBytes(32);
    const data = gcmSeal(dataKey, Buffer.from(plain), 'secret');
    return { v: 1, kek: this.id, key: gcmSeal(this.current, dataKey, 'data-key'), data };
  }

  open(s: Sealed): Buffer {
    const kek = this.byId.get(s.kek);
    if (!kek)
      throw new GatewayError(
        'GW_SECRET_KEY',
        `A secret is sealed with master key ${s.kek}, but ${this.source} is ${this.id}; set GATEWAY_MASTER_KEY_PREVIOUS_FILE during a master key rotation.`,
      );
    try {
      return gcmOpen(gcmOpen(kek, s.key, 'data-key'), s.data, 'secret');
    } catch {
      throw new GatewayError('GW_SECRET_KEY', `A secret sealed with master key ${s.kek} does not open: it was altered.`);
    }
  }

  /** The same secret with its data key wrapped by `next` instead. */
  rewrap(s: Sealed, next: Buffer): Sealed {
    const kek = this.byId.get(s.kek);
    if (!kek) throw new GatewayError('GW_SECRET_KEY', `A secret is sealed with master key ${s.kek}, which is not at hand.`);
    return { v: 1, kek: masterKeyId(next), key: gcmSeal(next, gcmOpen(kek, s.key, 'data-key'), 'data-key'), data: s.data };
  }

  /**
   * From the environment: GATEWAY_MASTER_KEY (the key), or GATEWAY_MASTER_KEY_FILE (a file holding
   * it), plus GATEWAY_MASTER_KEY_PREVIOUS_FILE while secrets are re-wrapped. With neither, a
   * development key is made once in the data folder (mode 0600); production supplies its own.
   */
  static fromEnv(env: Record<string, string | undefined>, dataDir: string): MasterKeys & { generated?: string } {
    const previous = env.GATEWAY_MASTER_KEY_PREVIOUS_FILE
      ? [parseMasterKey(readKeyFile(env.GATEWAY_MASTER_KEY_PREVIOUS_FILE), env.GATEWAY_MASTER_KEY_PREVIOUS_FILE)]
      : [];
    if (env.GATEWAY_MASTER_KEY) return new MasterKeys(parseMasterKey(env.GATEWAY_MASTER_KEY, 'GATEWAY_MASTER_KEY'), previous, 'GATEWAY_MASTER_KEY');
    if (env.GATEWAY_MASTER_KEY_FILE)
      return new MasterKeys(parseMasterKey(readKeyFile(env.GATEWAY_MASTER_KEY_FILE), env.GATEWAY_MASTER_KEY_FILE), previous, env.GATEWAY_MASTER_KEY_FILE);
    const file = path.join(dataDir, 'master.key');
    let generated: string | undefined;
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(file, newMasterKey(), { mode: 0o600, flag: 'wx' });
      generated = file;
    }
    return Object.assign(new MasterKeys(parseMasterKey(readKeyFile(file), file), previous, file), generated ? { generated } : {});
  }
}

function readKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new GatewayError('GW_SECRET_KEY', `The master key file ${file} cannot be read (${(err as Error).message}).`);
  }
}

/** Re-wraps the sealed secrets of a table another module owns (event subscriptions' signing secrets); returns how many. */
export type RewrapSealed = (trx: Knex.Transaction, rewrap: (s: Sealed) => Sealed) => Promise<number>;

/**
 * Re-wraps every sealed secret under `next`, in one transaction: the credentials', and those of
 * the tables `others` re-wrap. Afterwards only `next` is needed. Returns how many were re-wrapped.
 */
export async function rotateMasterKey(knex: Knex, keys: MasterKeys, next: Buffer, others: readonly RewrapSealed[] = []): Promise<number> {
  return knex.transaction(async (trx) => {
    const rows: { id: string; secret: Sealed }[] = await trx('credentials').select('id', 'secret').whereNotNull('secret').forUpdate();
    for (const r of rows)
      await trx('credentials')
        .where('id', r.id)
        .update({ secret: JSON.stringify(keys.rewrap(r.secret, next)) });
    let n = rows.length;
    for (const rewrapOthers of others) n += await rewrapOthers(trx, (s) => keys.rewrap(s, next));
    return n;
  });
}

const SEALED_BLOCK = /-----BEGIN GATEWAY SEALED PRIVATE KEY-----\n([A-Za-z0-9+/=\n]+)-----END GATEWAY SEALED PRIVATE KEY-----\n?/;

/**
 * A private key as written to a file: sealed under the master key (a PEM-like block of its own),
 * or as plain PEM when no master key is given. Certificates that follow stay readable.
 */
export function sealPrivateKeyPem(pem: string, keys: MasterKeys | undefined): string {
  if (!keys) return pem;
  const body = Buffer.from(JSON.stringify(keys.seal(pem)))
    .toString('base64')
    .replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN GATEWAY SEALED PRIVATE KEY-----\n${body}-----END GATEWAY SEALED PRIVATE KEY-----\n`;
}

/** The private key PEM in a key file, sealed or not (files written before sealing stay readable). */
export function openPrivateKeyPem(text: string, keys: MasterKeys | undefined, file: string): string {
  const m = SEALED_BLOCK.exec(text);
  if (!m) return text;
  if (!keys) throw new GatewayError('GW_SECRET_KEY', `${file} is sealed under a master key; set GATEWAY_MASTER_KEY_FILE to read it.`);
  return keys.open(JSON.parse(Buffer.from((m[1] as string).replace(/\n/g, ''), 'base64').toString('utf8')) as Sealed).toString('utf8');
}

/**
 * Re-seals the private key files under `dirs` (and their `retired/` folders) with `next`; files in
 * the clear are sealed now. Each file is replaced atomically. Returns how many were written.
 */
export function resealKeyFiles(dirs: readonly string[], keys: MasterKeys, next: Buffer): number {
  const nextKeys = new MasterKeys(next);
  let n = 0;
  for (const dir of dirs.flatMap((d) => [d, path.join(d, 'retired')])) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (!/\.(key|pem)$/.test(name) || !statSync(file).isFile()) continue;
      const text = readFileSync(file, 'utf8');
      const plain = /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----\n?/.exec(text)?.[0];
      const sealed = SEALED_BLOCK.exec(text)?.[0];
      const block = sealed ?? plain;
      if (!block) continue;
      const pem = sealed ? openPrivateKeyPem(sealed, keys, file) : block;
      writeFileSync(`${file}.tmp`, text.replace(block, sealPrivateKeyPem(pem.endsWith('\n') ? pem : `${pem}\n`, nextKeys)), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      n++;
    }
  }
  return n;
}
