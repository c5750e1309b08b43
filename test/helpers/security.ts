import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createPrivateKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SignJWT, type JWTPayload } from 'jose';
import { generateApiKey } from '../../src/security/api-keys.js';
import { openssl } from './cli.js';
import type { Gateway } from '../../src/server.js';

const run = promisify(execFile);

/** The security administrators' key (ADMIN_API_KEYS of the security suites). */
export const ADMIN = generateApiKey('admintest');

export function b64url(v: unknown): string {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}

export async function adminCall(
  url: string,
  method: string,
  p: string,
  body?: unknown,
  key = ADMIN.key,
): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : { text } };
}

/** POST /oauth/token with client_secret_basic (or any form and headers given). */
export async function tokenRequest(
  url: string,
  o: { basic?: [string, string]; form?: Record<string, string> },
): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(o.basic ? { authorization: `Basic ${Buffer.from(`${encodeURIComponent(o.basic[0])}:${encodeURIComponent(o.basic[1])}`).toString('base64')}` } : {}),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...o.form }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function bearer(
  url: string,
  method: string,
  p: string,
  token: string | undefined,
  body?: { contentType: string; data: string | Buffer },
): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(`${url}${p}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': body.contentType } : {}) },
    ...(body ? { body: body.data } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : { text } };
}

/**
 * Signs claims with the gateway's own current signing key: how the tests make tokens the token
 * endpoint would never issue (expired, another audience, another issuer).
 */
export async function forgeWithGatewayKey(gw: Gateway, claims: JWTPayload): Promise<string> {
  const keys = await gw.security.tokens.publishedKeys();
  const current = keys.filter((k) => k.notBefore <= new Date()).sort((a, b) => b.notBefore.getTime() - a.notBefore.getTime())[0];
  if (!current) throw new Error('no signing key yet: issue a token first');
  const key = createPrivateKey(gw.security.store.open(current).toString('utf8'));
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: current.ref, typ: 'at+jwt' }).sign(key);
}

/** A client assertion (RFC 7523) signed by `openssl dgst -sign`: RS256 over header.payload. */
export async function opensslAssertion(
  keyFile: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT' },
): Promise<string> {
  const input = `${b64url(header)}.${b64url(claims)}`;
  const sig = await openssl(['dgst', '-sha256', '-sign', keyFile], input);
  return `${input}.${sig.toString('base64url')}`;
}

/** An RSA key pair by OpenSSL: the private key file and the public key PEM. */
export async function opensslRsaKey(dir: string, name: string): Promise<{ key: string; publicPem: string }> {
  const key = path.join(dir, `${name}.key`);
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
  return { key, publicPem: (await openssl(['pkey', '-in', key, '-pubout'])).toString('utf8') };
}

/** SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it (AB:CD:…). */
export async function opensslFingerprint(certFile: string): Promise<string> {
  return /=([0-9A-F:]+)/.exec((await openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', certFile])).toString('utf8'))?.[1] as string;
}

/** HMAC-SHA256 of `data` under `secret` by `openssl dgst -hmac`, in hex. */
export async function opensslHmac(secret: string, data: Buffer): Promise<string> {
  return (await openssl(['dgst', '-sha256', '-hmac', secret, '-hex'], data)).toString('utf8').trim().split(/\s+/).pop() as string;
}

/** A test CA, and client certificates it issues (subject given as /CN=…/O=…). */
export async function opensslCa(dir: string): Promise<{ cert: string; issue: (name: string, subject: string) => Promise<{ key: string; cert: string }> }> {
  const caKey = path.join(dir, 'ca.key');
  const caCert = path.join(dir, 'ca.pem');
  await openssl([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '30',
    '-subj',
    '/CN=Test Partner CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  return {
    cert: caCert,
    async issue(name, subject) {
      const key = path.join(dir, `${name}.key`);
      const csr = path.join(dir, `${name}.csr`);
      const cert = path.join(dir, `${name}.pem`);
      await openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
      await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '30']);
      return { key, cert };
    },
  };
}

/** curl over the HTTPS port, checking the server with its certificate; with a client certificate when given. Asynchronous: the gateway runs in this process. */
export async function curlTls(o: {
  url: string;
  caFile: string;
  method?: string;
  cert?: { cert: string; key: string };
  headers?: Record<string, string>;
  data?: string;
}): Promise<{ status: number; body: Record<string, any> }> {
  const args = [
    '-sS',
    '--cacert',
    o.caFile,
    '-X',
    o.method ?? 'GET',
    '-w',
    '\n%{http_code}',
    ...(o.cert ? ['--cert', o.cert.cert, '--key', o.cert.key] : []),
    ...Object.entries(o.headers ?? {}).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    ...(o.data !== undefined ? ['--data', o.data] : []),
    o.url,
  ];
  const { stdout: out } = await run('curl', args, { encoding: 'utf8' });
  const nl = out.lastIndexOf('\n');
  const text = out.slice(0, nl);
  return { status: Number(out.slice(nl + 1)), body: text.startsWith('{') ? (JSON.parse(text) as Record<string, any>) : { text } };
}

/** Edits a test partner profile and reloads the gateway's configuration. */
export async function editPartner(gw: Gateway, partnersDir: string, id: string, edit: (yaml: string) => string): Promise<void> {
  const file = path.join(partnersDir, `${id}.yaml`);
  await writeFile(file, edit(await readFile(file, 'utf8')));
  await gw.reload();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
