import { createPrivateKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { GatewayError } from '../../errors.js';
import { openPrivateKeyPem, sealPrivateKeyPem, type MasterKeys } from '../../security/secrets.js';
import { certFromPem, selfSignedCertificate, type KeyPair } from '../../formats/as2/certificates.js';

/**
 * The gateway's own AS2 key pairs (signing our MDNs and messages, decrypting what partners send),
 * in the data folder, never in the repository. A rotation overlaps:
 * - `next`: published to partners (they may start encrypting to it) and already used to decrypt;
 * - `active`: signs, and is the certificate partners are told to use;
 * - `previous`: the key `active` replaced; still decrypts until it is retired.
 */
export type As2KeyState = 'next' | 'active' | 'previous';

export interface As2Key extends KeyPair {
  name: string;
  state: As2KeyState;
  /** The certificate in PEM, as handed to partners. */
  certPem: string;
  notAfter: Date;
}

const FILE = /^as2-(\d{8}T\d{6}Z)(?:-\d+)?\.(next|active|previous)\.pem$/;

function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Every key pair in `dir` (retired ones excluded), newest first. */
export function listAs2Keys(dir: string, keys?: MasterKeys): As2Key[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => FILE.test(f))
    .sort()
    .reverse()
    .map((name) => {
      const file = path.join(dir, name);
      const text = readFileSync(file, 'utf8');
      const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
      if (!certPem) throw new GatewayError('GW_CONFIG_INVALID', `${path.join(dir, name)} holds no certificate`);
      const cert = certFromPem(certPem);
      return {
        name,
        state: FILE.exec(name)![2] as As2KeyState,
        key: createPrivateKey(openPrivateKeyPem(text, keys, file)),
        cert,
        certPem,
        notAfter: new Date(cert.x509.validTo),
      };
    });
}

async function writeKey(dir: string, commonName: string, state: As2KeyState, days: number, keys?: MasterKeys): Promise<As2Key> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Off the event loop (libuv's pool): a 3072-bit key takes from a fraction of a second to several on a busy machine.
  const pair = await new Promise<{ publicKey: KeyObject; privateKey: KeyObject }>((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 3072 }, (err, publicKey, privateKey) => (err ? reject(err) : resolve({ publicKey, privateKey }))),
  );
  const certPem = await selfSignedCertificate(pair, commonName, days);
  let name = `as2-${stamp()}.${state}.pem`;
  for (let i = 2; existsSync(path.join(dir, name)); i++) name = `as2-${stamp()}-${i}.${state}.pem`;
  const file = path.join(dir, name);
  writeFileSync(file, `${sealPrivateKeyPem(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, keys)}${certPem}`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return listAs2Keys(dir, keys).find((k) => k.name === name)!;
}

/** The keys in use, generating the first active pair on first start. */
export async function ensureAs2Keys(dir: string, commonName: string, days = 730, master?: MasterKeys): Promise<As2Key[]> {
  const keys = listAs2Keys(dir, master);
  if (keys.some((k) => k.state === 'active')) return keys;
  await writeKey(dir, commonName, 'active', days, master);
  return listAs2Keys(dir, master);
}

/** Rotation step 1: a new pair whose certificate partners can install; it decrypts at once. */
export function addAs2Key(dir: string, commonName: string, days = 730, master?: MasterKeys): Promise<As2Key> {
  return writeKey(dir, commonName, 'next', days, master);
}

function find(dir: string, nameOrFingerprint: string, master?: MasterKeys): As2Key {
  const key = listAs2Keys(dir, master).find((k) => k.name === nameOrFingerprint || k.cert.fingerprint === nameOrFingerprint.toUpperCase());
  if (!key) throw new GatewayError('GW_REQUEST_INVALID', `No AS2 key "${nameOrFingerprint}" in ${dir}; \`gateway as2 keys list\` shows them.`);
  return key;
}

function move(dir: string, key: As2Key, state: As2KeyState | 'retired'): string {
  if (state === 'retired') {
    mkdirSync(path.join(dir, 'retired'), { recursive: true, mode: 0o700 });
    renameSync(path.join(dir, key.name), path.join(dir, 'retired', key.name));
    return key.name;
  }
  const name = key.name.replace(/\.(next|active|previous)\.pem$/, `.${state}.pem`);
  renameSync(path.join(dir, key.name), path.join(dir, name));
  return name;
}

/**
 * Rotation step 2: sign with the next pair. The active one becomes `previous` and keeps decrypting
 * (partners that have not switched yet still encrypt to it); an older `previous` retires.
 */
export function activateAs2Key(dir: string, nameOrFingerprint: string, master?: MasterKeys): As2Key {
  const key = find(dir, nameOrFingerprint, master);
  if (key.state === 'active') return key;
  for (const k of listAs2Keys(dir, master)) {
    if (k.state === 'previous') move(dir, k, 'retired');
    if (k.state === 'active') move(dir, k, 'previous');
  }
  const name = move(dir, key, 'active');
  return { ...key, name, state: 'active' };
}

/** Rotation step 3 (or a withdrawn next key): stop decrypting with a pair. The active one cannot retire. */
export function retireAs2Key(dir: string, nameOrFingerprint: string, master?: MasterKeys): As2Key {
  const key = find(dir, nameOrFingerprint, master);
  if (key.state === 'active')
    throw new GatewayError('GW_REQUEST_INVALID', `${key.name} is the signing key; \`gateway as2 keys activate\` its successor first.`);
  move(dir, key, 'retired');
  return key;
}

/**
 * The key pairs as the door uses them, read again whenever the folder changes (a rotation done by
 * the CLI takes effect without a restart).
 */
export class As2KeyRing {
  private keys: As2Key[] = [];
  private seen = -1;
  private initialized: Promise<void> | undefined;

  constructor(
    readonly dir: string,
    private readonly commonName: string,
    /** Seals the private keys in their files (and opens them). */
    private readonly master?: MasterKeys,
  ) {}

  /** Generates the first key pair if there is none (once; later calls wait for the same). */
  ready(): Promise<void> {
    this.initialized ??= ensureAs2Keys(this.dir, this.commonName, 730, this.master).then(() => this.refresh());
    return this.initialized;
  }

  private refresh(): void {
    const mtime = existsSync(this.dir) ? statSync(this.dir).mtimeMs : 0;
    if (mtime === this.seen) return;
    this.keys = listAs2Keys(this.dir, this.master);
    this.seen = mtime;
  }

  /** The signing pair. */
  active(): As2Key {
    this.refresh();
    const k = this.keys.find((x) => x.state === 'active');
    if (!k) throw new GatewayError('GW_INTERNAL', `no active AS2 key pair in ${this.dir}`);
    return k;
  }

  /** Every pair that decrypts: next, active and previous. */
  decrypting(): As2Key[] {
    this.refresh();
    return this.keys;
  }
}
