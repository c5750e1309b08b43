import { execFile, spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Gateway } from '../../src/server.js';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * The partner's side of AS2, built with independent tools: OpenSSL (`openssl cms`) signs, encrypts
 * and verifies, Python's zlib compresses (Debian's OpenSSL has no zlib for `cms -compress`; the
 * RFC 3274 structure is written by `openssl asn1parse -genconf`), and curl posts.
 */

const run = promisify(execFile);

/**
 * Gives a test partner an AS2 agreement (`as2Yaml`, replacing any earlier one) and the `as2`
 * channel; certificates are copied to certs/ beside partners/, as in the repository.
 */
export async function allowAs2(gw: Gateway, partnersDir: string, partnerId: string, as2Yaml: string, certs: Record<string, string> = {}): Promise<void> {
  const certDir = path.join(path.dirname(partnersDir), 'certs');
  await mkdir(certDir, { recursive: true });
  for (const [name, from] of Object.entries(certs)) await copyFile(from, path.join(certDir, name));
  const file = path.join(partnersDir, `${partnerId}.yaml`);
  const text = (await readFile(file, 'utf8')).replace(/^channels: \[rest\]$/m, 'channels: [rest, as2]').replace(/^as2:\n( {2}.*\n)*/m, '');
  await writeFile(file, `${text}as2:\n${as2Yaml.replace(/^/gm, '  ')}\n`);
  await gw.reload();
}

/**
 * Runs a tool without blocking the event loop (the gateway under test shares it), feeding `input`
 * on stdin; resolves with stdout, rejects with stderr when the tool fails.
 */
export function tool(command: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString()}`)),
    );
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin; its exit code tells
    child.stdin.end(input ?? Buffer.alloc(0));
  });
}

export function openssl(args: string[], input?: Buffer): Promise<Buffer> {
  return tool('openssl', args, input);
}

export interface Identity {
  key: string;
  cert: string;
}

/** A partner key pair and self-signed certificate made by OpenSSL. */
export async function opensslIdentity(dir: string, name: string, days = 30): Promise<Identity> {
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.pem`);
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', String(days), '-subj', `/CN=${name}`]);
  return { key, cert };
}

export type Protection = 'plain' | 'signed' | 'encrypted' | 'signed+encrypted' | 'compressed+signed+encrypted';

export interface BuiltAs2 {
  headers: Record<string, string>;
  body: Buffer;
  /** The bytes the MIC must be computed over (RFC 4130 §7.3.1), for `openssl dgst`. */
  micOver: Buffer;
}

/** RFC 3274 compressed data around `content`: zlib by Python, ASN.1 by OpenSSL. */
export async function compressedByOpenssl(dir: string, content: Buffer): Promise<Buffer> {
  const z = await tool('python3', ['-c', 'import sys,zlib;sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read()))'], content);
  const conf = path.join(dir, `compressed-${process.hrtime.bigint()}.cnf`);
  await writeFile(
    conf,
    `asn1=SEQUENCE:ci
[ci]
type=OID:1.2.840.113549.1.9.16.1.9
content=EXPLICIT:0,SEQUENCE:cd
[cd]
version=INTEGER:0
alg=SEQUENCE:alg
encap=SEQUENCE:encap
[alg]
oid=OID:1.2.840.113549.1.9.16.3.8
[encap]
type=OID:1.2.840.113549.1.7.1
content=EXPLICIT:0,FORMAT:HEX,OCTETSTRING:${z.toString('hex')}
`,
  );
  const out = `${conf}.der`;
  await openssl(['asn1parse', '-genconf', conf, '-noout', '-out', out]);
  return readFile(out);
}

/** Splits OpenSSL's S/MIME output into its top-level headers (for HTTP) and its body. */
export function splitSmime(smime: Buffer): { headers: Record<string, string>; body: Buffer } {
  const crlf = smime.indexOf('\r\n\r\n');
  const lf = smime.indexOf('\n\n');
  const [at, skip] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : [lf, 2];
  const headers: Record<string, string> = {};
  for (const line of smime
    .subarray(0, at)
    .toString('latin1')
    .replace(/\r?\n[ \t]+/g, ' ')
    .split(/\r?\n/)) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim()] = line.slice(c + 1).trim();
  }
  return { headers, body: smime.subarray(at + skip) };
}

/**
 * An AS2 payload protected as asked, built by OpenSSL for the gateway's certificate. `opaque`
 * uses OpenSSL's S/MIME (base64) output for the encrypted layer instead of binary DER.
 */
export async function buildWithOpenssl(
  dir: string,
  o: {
    protection: Protection;
    digest: 'sha1' | 'sha256';
    payload: Buffer;
    contentType?: string;
    partner: Identity;
    gatewayCert: string;
    cipher?: string;
    oaep?: boolean;
    base64?: boolean;
    /** Name the recipient by subject key identifier (`-keyid`) instead of issuer and serial number. */
    keyid?: boolean;
    /** Streamed: BER with indefinite lengths and the content in pieces (`-stream`). */
    stream?: boolean;
  },
): Promise<BuiltAs2> {
  let entity: Buffer = Buffer.concat([
    Buffer.from(`Content-Type: ${o.contentType ?? 'application/edi-x12'}\r\nContent-Disposition: attachment; filename="asn.edi"\r\n\r\n`),
    o.payload,
  ]);
  let micOver: Buffer = o.payload;
  const file = async (name: string, data: Buffer) => {
    const f = path.join(dir, `${name}-${process.hrtime.bigint()}`);
    await writeFile(f, data);
    return f;
  };
  if (o.protection === 'compressed+signed+encrypted') {
    entity = Buffer.concat([
      Buffer.from('Content-Type: application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z\r\nContent-Transfer-Encoding: binary\r\n\r\n'),
      await compressedByOpenssl(dir, entity),
    ]);
  }
  let top: { headers: Record<string, string>; body: Buffer<ArrayBufferLike> } = {
    headers: { 'Content-Type': o.contentType ?? 'application/edi-x12' },
    body: o.payload,
  };
  if (o.protection !== 'plain' && o.protection !== 'encrypted') {
    micOver = entity;
    const signed = await openssl([
      'cms',
      '-sign',
      '-binary',
      '-in',
      await file('entity.bin', entity),
      '-signer',
      o.partner.cert,
      '-inkey',
      o.partner.key,
      '-md',
      o.digest,
    ]);
    top = splitSmime(signed);
    entity = signed;
  } else if (o.protection === 'encrypted') micOver = entity;
  if (o.protection.endsWith('encrypted')) {
    const args = [
      'cms',
      '-encrypt',
      '-binary',
      '-in',
      await file('to-encrypt.bin', entity),
      `-${o.cipher ?? 'aes256'}`,
      '-recip',
      o.gatewayCert,
      ...(o.oaep ? ['-keyopt', 'rsa_padding_mode:oaep'] : []),
      ...(o.keyid ? ['-keyid'] : []),
      ...(o.stream ? ['-stream'] : []),
    ];
    if (o.base64) top = splitSmime(await openssl(args));
    else
      top = {
        headers: { 'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"' },
        body: await openssl([...args, '-outform', 'DER']),
      };
  }
  delete top.headers['MIME-Version'];
  return { headers: top.headers, body: top.body, micOver };
}

export interface CurlAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** POSTs with curl (as a partner's AS2 client would), returning status, headers and body. */
export async function curlPost(dir: string, url: string, headers: Record<string, string>, body: Buffer, extra: string[] = []): Promise<CurlAnswer> {
  const bodyFile = path.join(dir, `req-${process.hrtime.bigint()}.bin`);
  const outFile = `${bodyFile}.out`;
  const headFile = `${bodyFile}.head`;
  await writeFile(bodyFile, body);
  const args = [
    '-sS',
    '-X',
    'POST',
    '--data-binary',
    `@${bodyFile}`,
    '-o',
    outFile,
    '-D',
    headFile,
    '-H',
    'Expect:',
    ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]),
    ...extra,
    url,
  ];
  await run('curl', args);
  const head = (await readFile(headFile, 'latin1')).split(/\r?\n/);
  const status = Number(/HTTP\/[\d.]+ (\d+)/.exec(head[0] ?? '')?.[1]);
  const out: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const c = line.indexOf(':');
    if (c > 0) out[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { status, headers: out, body: await readFile(outFile) };
}

/** The fields of an MDN that `openssl cms -verify` accepted (signed) or that is plain. */
export interface CheckedMdn {
  disposition: string;
  mic?: string;
  originalMessageId?: string;
  verified: boolean;
  /** The whole report as read (after verification): its human-readable part and its fields. */
  report: string;
}

function mdnFields(report: string): CheckedMdn {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, 'mi').exec(report)?.[1]?.trim();
  return {
    disposition: field('Disposition') ?? '',
    ...(field('Received-Content-MIC') ? { mic: field('Received-Content-MIC') } : {}),
    ...(field('Original-Message-ID') ? { originalMessageId: field('Original-Message-ID') } : {}),
    verified: false,
    report,
  };
}

/** Verifies a signed MDN with `openssl cms -verify` (not -binary: OpenSSL 3.0 mis-handles multipart/signed with it). */
export async function verifyMdnWithOpenssl(dir: string, contentType: string, body: Buffer, gatewayCert: string): Promise<CheckedMdn> {
  const f = path.join(dir, `mdn-${process.hrtime.bigint()}.eml`);
  await writeFile(f, Buffer.concat([Buffer.from(`Content-Type: ${contentType}\r\n\r\n`), body]));
  if (!/multipart\/signed/i.test(contentType)) return mdnFields(body.toString('latin1'));
  const report = (await openssl(['cms', '-verify', '-in', f, '-CAfile', gatewayCert, '-purpose', 'any'])).toString('latin1');
  return { ...mdnFields(report), verified: true };
}

/** `openssl dgst` of the bytes, base64, as Received-Content-MIC carries it. */
export async function opensslMic(dir: string, data: Buffer, digest: 'sha1' | 'sha256'): Promise<string> {
  const f = path.join(dir, `mic-${process.hrtime.bigint()}.bin`);
  await writeFile(f, data);
  return (await openssl(['dgst', `-${digest}`, '-binary', f])).toString('base64');
}

export interface SinkAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer;
}

/** A partner's HTTP endpoint that records what is posted to it (async MDNs, our outbound messages). */
export class HttpSink {
  readonly received: { url: string; headers: IncomingHttpHeaders; body: Buffer }[] = [];
  respond: (r: { url: string; headers: IncomingHttpHeaders; body: Buffer }) => SinkAnswer | Promise<SinkAnswer> = () => ({ status: 200 });
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const r = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
        this.received.push(r);
        let a: SinkAnswer;
        try {
          a = await this.respond(r);
        } catch (err) {
          a = { status: 500, body: Buffer.from(String(err)) };
        }
        if (res.destroyed) return; // the client gave up waiting
        res.writeHead(a.status, a.headers ?? {});
        res.end(a.body ?? Buffer.alloc(0));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (this.server!.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s)
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
  }
}

/** A partner's MDN (multipart/report), signed by OpenSSL unless `sign` is false. */
export async function opensslMdn(
  dir: string,
  partner: Identity,
  o: { from: string; to: string; originalMessageId: string; mic?: string; disposition?: string; sign?: boolean },
): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const b = `report-${process.hrtime.bigint()}`;
  const report = Buffer.from(
    [
      `Content-Type: multipart/report; report-type=disposition-notification; boundary="${b}"`,
      '',
      `--${b}`,
      'Content-Type: text/plain',
      '',
      'Your message was received.',
      `--${b}`,
      'Content-Type: message/disposition-notification',
      '',
      'Reporting-UA: openssl-partner',
      `Original-Recipient: rfc822; ${o.from}`,
      `Final-Recipient: rfc822; ${o.from}`,
      `Original-Message-ID: ${o.originalMessageId}`,
      ...(o.mic ? [`Received-Content-MIC: ${o.mic}`] : []),
      `Disposition: ${o.disposition ?? 'automatic-action/MDN-sent-automatically; processed'}`,
      '',
      `--${b}--`,
      '',
    ].join('\r\n'),
  );
  const as2 = { 'AS2-Version': '1.2', 'AS2-From': o.from, 'AS2-To': `"${o.to}"`, 'Message-ID': `<mdn-${process.hrtime.bigint()}@partner>` };
  if (o.sign === false) {
    const s = splitSmime(report);
    return { headers: { ...as2, ...s.headers }, body: s.body };
  }
  const f = path.join(dir, `report-${process.hrtime.bigint()}.eml`);
  await writeFile(f, report);
  const s = splitSmime(await openssl(['cms', '-sign', '-binary', '-in', f, '-signer', partner.cert, '-inkey', partner.key, '-md', 'sha256']));
  delete s.headers['MIME-Version'];
  return { headers: { ...as2, ...s.headers }, body: s.body };
}

/** What a partner's AS2 server finds in a message from the gateway, each layer opened by OpenSSL. */
export interface OpenedByPartner {
  /** The signed entity's bytes (part one of multipart/signed), whose digest is the MIC. */
  signedEntity: Buffer;
  /** The document itself. */
  payload: Buffer;
  contentType: string;
}

/** The first part of a multipart body, by its boundary (test-side splitting; OpenSSL checks the signature). */
function firstPart(body: Buffer, boundary: string): Buffer {
  const text = body.toString('latin1');
  const start = text.indexOf(`--${boundary}`);
  const from = text.indexOf('\n', start) + 1;
  const next = text.indexOf(`\r\n--${boundary}`, from);
  return body.subarray(from, next);
}

/**
 * Opens a message the gateway sent: `openssl cms -decrypt` with the partner key, Python's zlib for
 * a compressed layer, `openssl cms -verify` against the gateway's certificate. Throws when OpenSSL
 * refuses any step.
 */
export async function openAsPartner(dir: string, partner: Identity, gatewayCert: string, headers: IncomingHttpHeaders, body: Buffer): Promise<OpenedByPartner> {
  let entity: Buffer = Buffer.concat([Buffer.from(`Content-Type: ${headers['content-type']}\r\n\r\n`), body]);
  let ct = String(headers['content-type']);
  const f = async (name: string, data: Buffer) => {
    const p = path.join(dir, `${name}-${process.hrtime.bigint()}`);
    await writeFile(p, data);
    return p;
  };
  if (/enveloped-data/.test(ct)) {
    entity = await openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', await f('enc', body), '-inkey', partner.key, '-recip', partner.cert]);
    ct = splitSmime(entity).headers['Content-Type'] ?? '';
  }
  let signedEntity: Buffer = entity;
  if (/multipart\/signed/.test(ct)) {
    await openssl(['cms', '-verify', '-in', await f('signed', entity), '-CAfile', gatewayCert, '-purpose', 'any']);
    const boundary = /boundary="?([^";]+)"?/.exec(ct)?.[1] ?? '';
    signedEntity = firstPart(splitSmime(entity).body, boundary);
    entity = signedEntity;
    ct = splitSmime(entity).headers['Content-Type'] ?? '';
  }
  if (/compressed-data/.test(ct)) {
    const der = decoded(splitSmime(entity));
    entity = await tool(
      'python3',
      [
        '-c',
        'import sys,zlib;d=sys.stdin.buffer.read();' +
          'i=min(x for x in (d.find(b"\\x78\\x9c"),d.find(b"\\x78\\xda"),d.find(b"\\x78\\x01")) if x>=0);' +
          'sys.stdout.buffer.write(zlib.decompressobj().decompress(d[i:]))',
      ],
      der,
    );
  }
  const inner = splitSmime(entity);
  return { signedEntity, payload: decoded(inner), contentType: inner.headers['Content-Type'] ?? '' };
}

function decoded(e: { headers: Record<string, string>; body: Buffer }): Buffer {
  return /base64/i.test(e.headers['Content-Transfer-Encoding'] ?? '') ? Buffer.from(e.body.toString('latin1'), 'base64') : e.body;
}
