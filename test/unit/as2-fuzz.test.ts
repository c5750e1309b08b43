import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { certFromPem, selfSignedCertificate, type KeyPair } from '../../src/formats/as2/certificates.js';
import { cmsContentType, compress, decompress, signDetached, verifyDetached, verifyOpaque } from '../../src/formats/as2/cms.js';
import { decryptEnveloped, encryptEnveloped } from '../../src/formats/as2/cms-enveloped.js';
import { micOf, unwrap } from '../../src/channels/as2/unwrap.js';
import type { As2KeyRing } from '../../src/channels/as2/keys.js';
import { buildMdn, parseMdn, parseMdnOptions } from '../../src/formats/as2/mdn.js';
import { decodeBody, entityOfHttp, parseContentType, parseEntity, splitMultipart, type MimeEntity } from '../../src/formats/as2/mime.js';
import { buildMessage } from '../../src/formats/as2/message.js';
import { ERROR_CODES, GatewayError } from '../../src/errors.js';
import { mutate, mutations } from '../helpers/as2-mutate.js';

/**
 * Property-based: the AS2 codec (MIME, CMS, MDN) over arbitrary bytes and over real messages
 * mutated at random. Whatever arrives, it returns or throws a GatewayError with a stable GW_AS2_
 * code (the disposition the MDN reports), within a time bound, and inflates no more than its cap.
 */
const AS2_CODES = new Set(Object.keys(ERROR_CODES).filter((c) => c.startsWith('GW_AS2_')));
/** Per input: generous, for a loaded 2-core machine; a quadratic path on 64 KB would still exceed it. */
const BOUND_MS = 3_000;
const CAP = 200_000;

/** Runs `fn` on one input: it returns, or throws a gateway error with an AS2 code, in bounded time. */
function settles<T>(what: string, fn: () => T): T | undefined {
  const started = performance.now();
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError, `${what} threw ${(err as Error)?.stack ?? String(err)}`);
    assert.ok(AS2_CODES.has(err.code), `${what} threw ${err.code}`);
    return undefined;
  } finally {
    const ms = performance.now() - started;
    assert.ok(ms < BOUND_MS, `${what} took ${Math.round(ms)} ms`);
  }
}

async function pair(name: string): Promise<KeyPair> {
  const kp = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { key: kp.privateKey, cert: certFromPem(await selfSignedCertificate(kp, name, 1)) };
}

/** The DER inside a pkcs7-mime entity or a signature part (base64 or binary). */
const derOf = (e: MimeEntity) => decodeBody(e);

describe('AS2 codec under random input and mutation (fast-check)', function () {
  this.timeout(300_000);
  const doc = {
    contentType: 'application/edi-x12',
    fileName: 'asn.edi',
    bytes: Buffer.from(
      'ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *261123*1200*U*00401*000000001*0*P*>~' +
        'GS*SH*S*R*20261123*1200*1*X*004010~ST*856*0001~BSN*00*1*20261123*1200~SE*3*0001~GE*1*1~IEA*1*000000001~\r\n',
    ),
  };
  let ours: KeyPair;
  let partner: KeyPair;
  let ring: As2KeyRing;
  /** Real messages, as the partner would send them (HTTP content type and body). */
  const messages: { name: string; top: MimeEntity }[] = [];
  const mdns: MimeEntity[] = [];
  const ders: { name: string; der: Buffer }[] = [];

  before(async () => {
    ours = await pair('gateway');
    partner = await pair('partner');
    ring = { decrypting: () => [ours], active: () => ours } as unknown as As2KeyRing;
    const base = {
      url: 'http://x',
      sign: 'sha256',
      encrypt: 'aes256-cbc',
      keyTransport: 'rsa-pkcs1',
      oaepHash: 'sha1',
      compress: false,
      mdn: 'sync',
      signedMdn: true,
      subject: 's',
      timeoutSeconds: 1,
      maxAttempts: 1,
      mdnTimeoutSeconds: 1,
    } as const;
    const variants = {
      plain: { sign: 'none', encrypt: 'none' },
      signed: { encrypt: 'none' },
      encrypted: { sign: 'none' },
      'signed+encrypted': {},
      'compressed+signed+encrypted (OAEP)': { compress: true, keyTransport: 'rsa-oaep' },
      'compressed+signed (SHA-1)': { compress: true, encrypt: 'none', sign: 'sha1' },
    } as const;
    for (const [name, v] of Object.entries(variants)) {
      const built = buildMessage({ send: { ...base, ...v }, certs: [ours.cert], signer: partner }, doc);
      const headers = new Map(built.headers.map(([k, val]) => [k.toLowerCase(), val]));
      messages.push({ name, top: entityOfHttp((h) => headers.get(h), built.body) });
    }
    for (const signer of [undefined, { pair: ours, digest: 'sha256' as const }]) {
      const m = buildMdn({ ourId: 'GW', partnerId: 'P', originalMessageId: '<m@p>', mic: { value: 'bWlj', digest: 'sha256' }, text: 'ok' }, signer);
      const headers = new Map(m.headers.map(([k, val]) => [k.toLowerCase(), val]));
      mdns.push(entityOfHttp((h) => headers.get(h), m.body));
    }
    ders.push({ name: 'enveloped (PKCS#1 v1.5)', der: encryptEnveloped(doc.bytes, ours.cert, 'aes128-cbc', 'rsa-pkcs1') });
    ders.push({ name: 'enveloped (OAEP SHA-256)', der: encryptEnveloped(doc.bytes, ours.cert, '3des', 'rsa-oaep', 'sha256') });
    ders.push({ name: 'signature', der: signDetached(doc.bytes, partner, 'sha256') });
    ders.push({ name: 'compressed', der: compress(Buffer.concat([doc.bytes, Buffer.alloc(50_000, 0x41)])) });
    // Sanity: the unmutated messages open.
    for (const m of messages) assert.equal(decodeBody(unwrap(m.top, [partner.cert], ring, CAP).payload).toString(), doc.bytes.toString(), m.name);
  });

  it('MIME: arbitrary bytes and header values never throw but GW_AS2_ codes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), fc.string({ maxLength: 200 }), fc.string({ maxLength: 40 }), (bytes, header, boundary) => {
        const raw = Buffer.from(bytes);
        const entity = settles('parseEntity', () => parseEntity(raw));
        settles('splitMultipart', () => splitMultipart(raw, boundary));
        settles('parseContentType', () => parseContentType(header));
        settles('parseMdnOptions', () => parseMdnOptions(header));
        const top = entityOfHttp((h) => (h === 'content-type' ? header : h === 'content-transfer-encoding' ? boundary : undefined), raw);
        settles('decodeBody', () => decodeBody(entity ?? top));
        settles('unwrap', () => unwrap(top, [partner.cert], ring, CAP));
        settles('parseMdn', () => parseMdn(top, [ours.cert]));
      }),
      { numRuns: 400 },
    );
  });

  it('unwrap: mutated real messages (every layer combination) open or fail with an AS2 code, and the MIC is computable', () => {
    fc.assert(
      fc.property(fc.nat(), mutations, fc.boolean(), (pick, ms, inHeader) => {
        const { name, top } = messages[pick % messages.length]!;
        const contentType = top.headers.get('content-type') ?? '';
        const mutated = inHeader
          ? entityOfHttp((h) => (h === 'content-type' ? mutate(Buffer.from(contentType, 'latin1'), ms).toString('latin1') : top.headers.get(h)), top.body)
          : entityOfHttp((h) => top.headers.get(h), mutate(top.body, ms));
        const u = settles(`unwrap(${name})`, () => unwrap(mutated, [partner.cert], ring, CAP));
        if (u) {
          micOf(u, 'sha256');
          settles(`decodeBody(${name})`, () => decodeBody(u.payload));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('CMS: mutated DER (enveloped, signature, compressed) decrypts, verifies, inflates or fails with an AS2 code', () => {
    fc.assert(
      fc.property(fc.nat(), mutations, (pick, ms) => {
        const { name, der } = ders[pick % ders.length]!;
        const bad = mutate(der, ms);
        settles(`cmsContentType(${name})`, () => cmsContentType(bad));
        settles(`decryptEnveloped(${name})`, () => decryptEnveloped(bad, [ours]));
        settles(`verifyDetached(${name})`, () => verifyDetached(doc.bytes, bad, [partner.cert]));
        settles(`verifyOpaque(${name})`, () => verifyOpaque(bad, [partner.cert]));
        const out = settles(`decompress(${name})`, () => decompress(bad, CAP));
        if (out) assert.ok(out.length <= CAP, `decompress returned ${out.length} bytes past the cap`);
      }),
      { numRuns: 300 },
    );
  });

  it('decompression never exceeds its cap, however far the content would inflate', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000 }), fc.integer({ min: 1, max: 1_000_000 }), (size, cap) => {
        const der = compress(Buffer.alloc(size, 0x30));
        const out = settles('decompress', () => decompress(der, cap));
        if (size <= cap) assert.equal(out?.length, size);
        else assert.equal(out, undefined, `${size} bytes inflated under a cap of ${cap}`);
      }),
      { numRuns: 60 },
    );
  });

  it('MDN: mutated MDNs (signed and unsigned) parse or fail with an AS2 code', () => {
    fc.assert(
      fc.property(fc.nat(), mutations, (pick, ms) => {
        const top = mdns[pick % mdns.length]!;
        settles('parseMdn', () =>
          parseMdn(
            entityOfHttp((h) => top.headers.get(h), mutate(top.body, ms)),
            [ours.cert],
          ),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('signature parts: mutated detached signatures inside a real signed message fail with an AS2 code', () => {
    const signed = messages.find((m) => m.name === 'signed')!.top;
    const boundary = parseContentType(signed.headers.get('content-type')).params.boundary!;
    const [content, sigPart] = splitMultipart(signed.body, boundary) as [Buffer, Buffer];
    const sig = derOf(parseEntity(sigPart));
    fc.assert(
      fc.property(mutations, (ms) => {
        settles('verifyDetached', () => verifyDetached(parseEntity(content).raw, mutate(sig, ms), [partner.cert]));
      }),
      { numRuns: 200 },
    );
  });
});
