import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  constants,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  sign as nodeSign,
  timingSafeEqual,
  verify as nodeVerify,
  webcrypto,
  type KeyObject,
  X509Certificate,
} from 'node:crypto';
import { inflateSync, deflateSync } from 'node:zlib';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { GatewayError, type ErrorCode } from '../../errors.js';

/**
 * CMS (RFC 5652) for AS2: detached signatures, enveloped data and compressed data (RFC 3274).
 *
 * pkijs parses and writes the structures; the cryptography is Node's (OpenSSL). RSA PKCS#1 v1.5
 * key transport, which Node 20 refuses to unpad (CVE-2023-46809), is decrypted raw and unpadded
 * here with implicit rejection, so a bad padding is indistinguishable from a wrong key.
 * @see docs/decisions/0008-as2-door.md
 */

/** Why a CMS layer could not be opened; maps to an AS2 disposition. */
export type CmsFailure = 'decryption-failed' | 'authentication-failed' | 'integrity-check-failed' | 'unexpected-processing-error';

/** The error code of each failure (the AS2 disposition is the failure itself). */
export const CMS_FAILURE_CODES: Record<CmsFailure, ErrorCode> = {
  'decryption-failed': 'GW_AS2_DECRYPTION',
  'authentication-failed': 'GW_AS2_AUTHENTICATION',
  'integrity-check-failed': 'GW_AS2_INTEGRITY',
  'unexpected-processing-error': 'GW_AS2_PROCESSING',
};

export class CmsError extends GatewayError {
  constructor(
    readonly failure: CmsFailure,
    message: string,
  ) {
    super(CMS_FAILURE_CODES[failure], message);
    this.name = 'CmsError';
  }
}

/**
 * Runs `fn`, turning anything but a gateway error into `failure`: pkijs and asn1js throw plain
 * errors on malformed structures, and Node's RSA step on a key block of the wrong size. Whatever
 * a sender puts in a message ends as a disposition, never as an internal error.
 */
function guarded<T>(failure: CmsFailure, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new CmsError(failure, `${what} (${err instanceof Error ? err.message : String(err)})`);
  }
}

export type Digest = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const DIGEST_OIDS: Record<string, Digest> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const OID_OF_DIGEST = Object.fromEntries(Object.entries(DIGEST_OIDS).map(([oid, d]) => [d, oid])) as Record<Digest, string>;

/** `sha256`, `sha-256`, `SHA256`, `sha1`, `sha-1` … → the digest, or undefined. */
export function digestOf(name: string): Digest | undefined {
  const n = name.trim().toLowerCase().replace(/^"|"$/g, '').replace('-', '');
  return (['sha1', 'sha256', 'sha384', 'sha512'] as const).find((d) => d === n);
}

/** The AS2 spelling of a digest (`sha-256`, `sha1` as RFC 4130 and RFC 5751 write them). */
export function micalgName(d: Digest): string {
  return d === 'sha1' ? 'sha1' : `sha-${d.slice(3)}`;
}

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  compressedData: '1.2.840.113549.1.9.16.1.9',
  zlib: '1.2.840.113549.1.9.16.3.8',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaOaep: '1.2.840.113549.1.1.7',
  contentTypeAttr: '1.2.840.113549.1.9.3',
  messageDigestAttr: '1.2.840.113549.1.9.4',
  signingTimeAttr: '1.2.840.113549.1.9.5',
} as const;

export type Cipher = 'aes128-cbc' | 'aes192-cbc' | 'aes256-cbc' | '3des';

const CIPHERS: Record<string, { cipher: Cipher; node: string; keyLength: number; ivLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes128-cbc', node: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes192-cbc', node: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes256-cbc', node: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  '1.2.840.113549.3.7': { cipher: '3des', node: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
};
const OID_OF_CIPHER = Object.fromEntries(Object.entries(CIPHERS).map(([oid, c]) => [c.cipher, oid])) as Record<Cipher, string>;

/** A certificate with what the code needs of it in both libraries' forms. */
export interface Cert {
  x509: X509Certificate;
  pki: pkijs.Certificate;
  /** SHA-256 of the DER, hex with colons (as `openssl x509 -fingerprint -sha256` prints it). */
  fingerprint: string;
}

/** One of our key pairs: the private key and its certificate. */
export interface KeyPair {
  key: KeyObject;
  cert: Cert;
}

export function certFromPem(pem: string | Buffer): Cert {
  const x509 = new X509Certificate(pem);
  return { x509, pki: pkijs.Certificate.fromBER(x509.raw), fingerprint: x509.fingerprint256 };
}

/** All certificates in a PEM file (a partner may send its chain). */
export function certsFromPem(text: string): Cert[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => certFromPem(b));
}

function contentInfo(der: Buffer, expected: string, what: string): pkijs.ContentInfo {
  let ci: pkijs.ContentInfo;
  try {
    ci = pkijs.ContentInfo.fromBER(der);
  } catch (err) {
    throw new CmsError('unexpected-processing-error', `the ${what} is not a CMS structure (${(err as Error).message})`);
  }
  if (ci.contentType !== expected)
    throw new CmsError('unexpected-processing-error', `the ${what} holds CMS content type ${ci.contentType}, expected ${expected}`);
  return ci;
}

/** The bytes of an OCTET STRING, joining the pieces of a constructed (BER) one. */
function octets(o: asn1js.OctetString): Buffer {
  if (!o.idBlock.isConstructed) return Buffer.from(o.valueBlock.valueHexView);
  return Buffer.concat((o.valueBlock.value as asn1js.OctetString[]).map(octets));
}

function validNow(c: Cert, now = new Date()): boolean {
  return new Date(c.x509.validFrom) <= now && now <= new Date(c.x509.validTo);
}

export interface Verified {
  signer: Cert;
  digest: Digest;
}

/**
 * Checks a detached signature over `content` against the partner's certificates (never against a
 * certificate the message carries). A signature none of them made is `authentication-failed`; a
 * valid signature over other content is `integrity-check-failed`.
 */
export function verifyDetached(content: Buffer, signatureDer: Buffer, trusted: readonly Cert[], at = new Date()): Verified {
  return guarded('authentication-failed', 'the signature is malformed', () => checkDetached(content, signatureDer, trusted, at));
}

function checkDetached(content: Buffer, signatureDer: Buffer, trusted: readonly Cert[], at: Date): Verified {
  const ci = contentInfo(signatureDer, OID.signedData, 'signature');
  const sd = new pkijs.SignedData({ schema: ci.content });
  const si = sd.signerInfos[0];
  if (!si) throw new CmsError('authentication-failed', 'the signature has no signer');
  const digest = DIGEST_OIDS[si.digestAlgorithm.algorithmId];
  if (!digest) throw new CmsError('authentication-failed', `the signature uses digest ${si.digestAlgorithm.algorithmId}, which is not accepted`);
  const signature = Buffer.from(si.signature.valueBlock.valueHexView);
  let signedBytes = content;
  let messageDigest: Buffer | undefined;
  if (si.signedAttrs) {
    const encoded = Buffer.from(si.signedAttrs.encodedValue);
    encoded[0] = 0x31; // signed over as a SET OF, not as the [0] it is tagged with
    signedBytes = encoded;
    const md = si.signedAttrs.attributes.find((a) => a.type === OID.messageDigestAttr)?.values[0];
    if (!(md instanceof asn1js.OctetString)) throw new CmsError('authentication-failed', 'the signature has signed attributes but no message digest');
    messageDigest = Buffer.from(md.valueBlock.valueHexView);
  }
  const usable = trusted.filter((c) => validNow(c, at));
  const signer = usable.find((c) => {
    try {
      return nodeVerify(digest, signedBytes, { key: c.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      return false;
    }
  });
  if (!signer) {
    const expired = trusted.length - usable.length;
    const whose = trusted.length ? `the partner's certificate${trusted.length > 1 ? 's' : ''}` : 'a certificate on file (none is configured)';
    throw new CmsError(
      'authentication-failed',
      `the signature was not made with ${whose}${expired ? ` (${expired} of them outside its validity period)` : ''}`,
    );
  }
  if (messageDigest) {
    const actual = createHash(digest).update(content).digest();
    if (actual.length !== messageDigest.length || !timingSafeEqual(actual, messageDigest))
      throw new CmsError('integrity-check-failed', 'the content does not match the digest it was signed with (altered in transit)');
  }
  return { signer, digest };
}

/** A detached signature (DER) over `content`, with the usual signed attributes. */
export function signDetached(content: Buffer, pair: KeyPair, digest: Digest): Buffer {
  const attrs = new pkijs.SignedAndUnsignedAttributes({
    type: 0,
    attributes: [
      new pkijs.Attribute({ type: OID.contentTypeAttr, values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
      new pkijs.Attribute({ type: OID.signingTimeAttr, values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
      new pkijs.Attribute({ type: OID.messageDigestAttr, values: [new asn1js.OctetString({ valueHex: createHash(digest).update(content).digest() })] }),
    ],
  });
  const set = Buffer.from(attrs.toSchema().toBER());
  set[0] = 0x31;
  const signature = nodeSign(digest, set, { key: pair.key, padding: constants.RSA_PKCS1_PADDING });
  const si = new pkijs.SignerInfo({
    version: 1,
    sid: new pkijs.IssuerAndSerialNumber({ issuer: pair.cert.pki.issuer, serialNumber: pair.cert.pki.serialNumber }),
    digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID_OF_DIGEST[digest], algorithmParams: new asn1js.Null() }),
    signedAttrs: attrs,
    signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  const sd = new pkijs.SignedData({
    version: 1,
    digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: OID_OF_DIGEST[digest], algorithmParams: new asn1js.Null() })],
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: OID.data }),
    certificates: [pair.cert.pki],
    signerInfos: [si],
  });
  return Buffer.from(new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) }).toSchema().toBER());
}

function sameRecipient(rid: unknown, cert: Cert): boolean {
  if (rid instanceof pkijs.IssuerAndSerialNumber) return rid.issuer.isEqual(cert.pki.issuer) && rid.serialNumber.isEqual(cert.pki.serialNumber);
  if (rid instanceof asn1js.OctetString) {
    const ski = cert.pki.extensions?.find((e) => e.extnID === '2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
    return Boolean(ski && Buffer.from(ski.valueBlock.valueHexView).equals(Buffer.from(rid.valueBlock.valueHexView)));
  }
  return false;
}

const REJECTION_SECRETS = new WeakMap<KeyObject, Buffer>();

/** The secret implicit rejection derives its keys from: fixed per private key, never sent. */
function rejectionSecret(key: KeyObject): Buffer {
  let s = REJECTION_SECRETS.get(key);
  if (!s)
    REJECTION_SECRETS.set(
      key,
      (s = createHmac('sha256', key.export({ format: 'der', type: 'pkcs8' }) as Buffer)
        .update('as2 implicit rejection')
        .digest()),
    );
  return s;
}

/**
 * RSAES-PKCS1-v1_5 decryption of a content-encryption key of known length, with implicit rejection:
 * the RSA step is OpenSSL's (blinded, no padding), the padding check reads every byte whatever it
 * finds, and a bad padding yields a key derived from the private key and the ciphertext instead of
 * an error. The content then fails to decrypt exactly as it would under a wrong key, so the answer
 * to the sender does not tell the two apart (no Bleichenbacher oracle).
 */
export function decryptKeyPkcs1(key: KeyObject, encryptedKey: Buffer, keyLength: number): Buffer {
  const em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, encryptedKey);
  const k = em.length;
  const sep = k - keyLength - 1;
  // 0x00 0x02, at least eight non-zero padding bytes, 0x00, then exactly keyLength bytes.
  let bad = em[0]! | (em[1]! ^ 0x02) | em[sep]!;
  for (let i = 2; i < sep; i++) bad |= ((em[i]! - 1) >> 8) & 1; // 1 when the byte is zero
  bad |= sep < 10 ? 1 : 0;
  const mask = ((bad | -bad) >> 31) & 0xff; // 0xff when bad, 0 when good
  const kdk = rejectionSecret(key);
  const synthetic = createHmac('sha256', kdk).update(encryptedKey).digest();
  const fill = Buffer.concat([synthetic, createHmac('sha256', kdk).update(synthetic).digest()]);
  const out = Buffer.alloc(keyLength);
  for (let i = 0; i < keyLength; i++) out[i] = (em[sep + 1 + i]! & ~mask) | (fill[i]! & mask);
  return out;
}

/** Decrypts enveloped data addressed to one of our key pairs (any of them, during a rollover). */
export function decryptEnveloped(der: Buffer, pairs: readonly KeyPair[]): Decrypted {
  return guarded('decryption-failed', 'the encrypted message is malformed', () => openEnveloped(der, pairs));
}

type Decrypted = { content: Buffer; cipher: Cipher; keyTransport: 'rsa-pkcs1' | 'rsa-oaep'; pair: KeyPair };

function openEnveloped(der: Buffer, pairs: readonly KeyPair[]): Decrypted {
  const ci = contentInfo(der, OID.envelopedData, 'encrypted message');
  const ed = new pkijs.EnvelopedData({ schema: ci.content });
  const eci = ed.encryptedContentInfo;
  const alg = CIPHERS[eci.contentEncryptionAlgorithm.algorithmId];
  if (!alg)
    throw new CmsError(
      'decryption-failed',
      `the content is encrypted with ${eci.contentEncryptionAlgorithm.algorithmId}, which is not accepted (AES-CBC or 3DES)`,
    );
  const ivParam = eci.contentEncryptionAlgorithm.algorithmParams as asn1js.OctetString | undefined;
  if (!(ivParam instanceof asn1js.OctetString) || ivParam.valueBlock.valueHexView.length !== alg.ivLength)
    throw new CmsError('decryption-failed', 'the content encryption has no valid IV');
  const encrypted = eci.encryptedContent ? octets(eci.encryptedContent) : undefined;
  if (!encrypted) throw new CmsError('decryption-failed', 'the enveloped data carries no encrypted content');
  let match: { pair: KeyPair; ri: pkijs.KeyTransRecipientInfo } | undefined;
  for (const r of ed.recipientInfos) {
    if (r.variant !== 1) continue;
    const ri = r.value as pkijs.KeyTransRecipientInfo;
    const pair = pairs.find((p) => sameRecipient(ri.rid, p.cert));
    if (pair) {
      match = { pair, ri };
      break;
    }
  }
  if (!match)
    throw new CmsError(
      'decryption-failed',
      `the message is not encrypted for any of our certificates (${pairs.map((p) => p.cert.fingerprint.slice(0, 23)).join(', ')}…)`,
    );
  const { pair, ri } = match;
  const encryptedKey = Buffer.from(ri.encryptedKey.valueBlock.valueHexView);
  let cek: Buffer;
  let keyTransport: 'rsa-pkcs1' | 'rsa-oaep';
  const kea = ri.keyEncryptionAlgorithm.algorithmId;
  if (kea === OID.rsaEncryption) {
    keyTransport = 'rsa-pkcs1';
    cek = decryptKeyPkcs1(pair.key, encryptedKey, alg.keyLength);
  } else if (kea === OID.rsaOaep) {
    keyTransport = 'rsa-oaep';
    const params = ri.keyEncryptionAlgorithm.algorithmParams
      ? new pkijs.RSAESOAEPParams({ schema: ri.keyEncryptionAlgorithm.algorithmParams })
      : new pkijs.RSAESOAEPParams();
    const oaepHash = DIGEST_OIDS[params.hashAlgorithm.algorithmId] ?? 'sha1';
    try {
      cek = privateDecrypt({ key: pair.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, encryptedKey);
    } catch {
      throw new CmsError('decryption-failed', 'the message could not be decrypted with our private key');
    }
  } else throw new CmsError('decryption-failed', `key transport ${kea} is not accepted (RSA PKCS#1 v1.5 or RSA-OAEP)`);
  try {
    if (cek.length !== alg.keyLength) throw new Error('key length');
    const d = createDecipheriv(alg.node, cek, Buffer.from(ivParam.valueBlock.valueHexView));
    return { content: Buffer.concat([d.update(encrypted), d.final()]), cipher: alg.cipher, keyTransport, pair };
  } catch {
    throw new CmsError('decryption-failed', 'the message could not be decrypted with our private key');
  }
}

/** The RSAES-OAEP parameters for a hash: SHA-1 is the default and is written as an empty SEQUENCE (RFC 4055 §4.1, DER omits defaults). */
function oaepParams(hash: OaepHash): asn1js.Sequence {
  if (hash === 'sha1') return new asn1js.Sequence();
  const alg = new pkijs.AlgorithmIdentifier({ algorithmId: OID_OF_DIGEST[hash], algorithmParams: new asn1js.Null() });
  return new pkijs.RSAESOAEPParams({
    hashAlgorithm: alg,
    maskGenAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: '1.2.840.113549.1.1.8', algorithmParams: alg.toSchema() }),
  }).toSchema();
}

export type OaepHash = 'sha1' | 'sha256';

/**
 * Enveloped data (DER) for one recipient certificate. RSA-OAEP uses `oaepHash` for both the
 * label hash and MGF1 (RFC 4055 §4.1).
 */
export function encryptEnveloped(
  content: Buffer,
  recipient: Cert,
  cipher: Cipher,
  keyTransport: 'rsa-pkcs1' | 'rsa-oaep',
  oaepHash: OaepHash = 'sha1',
): Buffer {
  const oid = OID_OF_CIPHER[cipher];
  const alg = CIPHERS[oid]!;
  const cek = randomBytes(alg.keyLength);
  const iv = randomBytes(alg.ivLength);
  const c = createCipheriv(alg.node, cek, iv);
  const encrypted = Buffer.concat([c.update(content), c.final()]);
  const oaep = keyTransport === 'rsa-oaep';
  const encryptedKey = publicEncrypt(
    { key: recipient.x509.publicKey, padding: oaep ? constants.RSA_PKCS1_OAEP_PADDING : constants.RSA_PKCS1_PADDING, ...(oaep ? { oaepHash } : {}) },
    cek,
  );
  const ri = new pkijs.KeyTransRecipientInfo({
    version: 0,
    rid: new pkijs.IssuerAndSerialNumber({ issuer: recipient.pki.issuer, serialNumber: recipient.pki.serialNumber }),
    keyEncryptionAlgorithm: oaep
      ? new pkijs.AlgorithmIdentifier({
          algorithmId: OID.rsaOaep,
          algorithmParams: oaepParams(oaepHash),
        })
      : new pkijs.AlgorithmIdentifier({ algorithmId: OID.rsaEncryption, algorithmParams: new asn1js.Null() }),
    encryptedKey: new asn1js.OctetString({ valueHex: encryptedKey }),
  });
  const ed = new pkijs.EnvelopedData({
    version: 0,
    recipientInfos: [new pkijs.RecipientInfo({ variant: 1, value: ri })],
    encryptedContentInfo: new pkijs.EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: oid, algorithmParams: new asn1js.OctetString({ valueHex: iv }) }),
      encryptedContent: new asn1js.OctetString({ valueHex: encrypted }),
    }),
  });
  return Buffer.from(new pkijs.ContentInfo({ contentType: OID.envelopedData, content: ed.toSchema() }).toSchema().toBER());
}

/** Compressed data (RFC 3274, zlib) holding `content`. */
export function compress(content: Buffer): Buffer {
  const compressed = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: 0 }),
      new asn1js.Sequence({ value: [new asn1js.ObjectIdentifier({ value: OID.zlib })] }),
      new asn1js.Sequence({
        value: [
          new asn1js.ObjectIdentifier({ value: OID.data }),
          new asn1js.Constructed({ idBlock: { tagClass: 3, tagNumber: 0 }, value: [new asn1js.OctetString({ valueHex: deflateSync(content) })] }),
        ],
      }),
    ],
  });
  return Buffer.from(new pkijs.ContentInfo({ contentType: OID.compressedData, content: compressed }).toSchema().toBER());
}

/** The content of compressed data, refusing to inflate past `maxBytes` (decompression bombs). */
export function decompress(der: Buffer, maxBytes: number): Buffer {
  return guarded('unexpected-processing-error', 'the compressed data is malformed', () => inflateCompressed(der, maxBytes));
}

function inflateCompressed(der: Buffer, maxBytes: number): Buffer {
  const ci = contentInfo(der, OID.compressedData, 'compressed message');
  const seq = ci.content as asn1js.Sequence;
  const [, algorithm, encap] = seq.valueBlock?.value ?? [];
  const algOid = ((algorithm as asn1js.Sequence | undefined)?.valueBlock.value[0] as asn1js.ObjectIdentifier | undefined)?.valueBlock.toString();
  if (algOid !== OID.zlib)
    throw new CmsError('unexpected-processing-error', `the message is compressed with ${algOid ?? 'an unknown algorithm'}; only zlib (RFC 3274) is accepted`);
  let inner: Buffer;
  try {
    const eci = new pkijs.EncapsulatedContentInfo({ schema: encap });
    if (!eci.eContent) throw new Error('no content');
    inner = octets(eci.eContent);
  } catch (err) {
    throw new CmsError('unexpected-processing-error', `the compressed data is malformed (${(err as Error).message})`);
  }
  try {
    return inflateSync(inner, { maxOutputLength: maxBytes });
  } catch (err) {
    if (err instanceof RangeError) throw new CmsError('unexpected-processing-error', `the compressed content inflates beyond the limit of ${maxBytes} bytes`);
    throw new CmsError('unexpected-processing-error', `the compressed content does not inflate (${(err as Error).message})`);
  }
}

/** The content type of a CMS structure, or undefined when the bytes are not one. */
export function cmsContentType(der: Buffer): string | undefined {
  try {
    return pkijs.ContentInfo.fromBER(der).contentType;
  } catch {
    return undefined;
  }
}

/** The signed content of an opaque (application/pkcs7-mime; smime-type=signed-data) signature, and its check. */
export function verifyOpaque(der: Buffer, trusted: readonly Cert[]): Verified & { content: Buffer } {
  const content = guarded('unexpected-processing-error', 'the signed message is malformed', () => {
    const ci = contentInfo(der, OID.signedData, 'signed message');
    const e = new pkijs.SignedData({ schema: ci.content }).encapContentInfo.eContent;
    if (!e) throw new CmsError('unexpected-processing-error', 'the signed message carries no content');
    return octets(e);
  });
  return { ...verifyDetached(content, der, trusted), content };
}

/** A self-signed certificate for one of our key pairs (pkijs writes it; Node's key signs it). */
export async function selfSignedCertificate(
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
  days: number,
  altNames?: { dns: string[]; ip: string[] },
): Promise<string> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: Buffer.concat([Buffer.from([0x01]), randomBytes(15)]) });
  const name = [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: commonName }) })];
  cert.issuer.typesAndValues.push(...name);
  cert.subject.typesAndValues.push(...name);
  cert.notBefore.value = new Date(Date.now() - 60_000);
  cert.notAfter.value = new Date(Date.now() + days * 86_400_000);
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(spki);
  const keyUsage = new asn1js.BitString({ valueHex: new Uint8Array([0xa0]), unusedBits: 5 }); // digitalSignature, keyEncipherment
  cert.extensions = [
    new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: keyUsage.toBER(), parsedValue: keyUsage }),
    new pkijs.Extension({
      extnID: '2.5.29.14',
      extnValue: new asn1js.OctetString({
        valueHex: createHash('sha1').update(Buffer.from(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)).digest(),
      }).toBER(),
    }),
  ];
  if (altNames) {
    // subjectAltName, so TLS clients can check the host name (2 = dNSName, 7 = iPAddress).
    const names = new pkijs.GeneralNames({
      names: [
        ...altNames.dns.map((value) => new pkijs.GeneralName({ type: 2, value })),
        ...altNames.ip.map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: Uint8Array.from(ip.split('.').map(Number)) }) })),
      ],
    });
    cert.extensions.push(new pkijs.Extension({ extnID: '2.5.29.17', extnValue: names.toSchema().toBER() }));
  }
  const key = await webcrypto.subtle.importKey(
    'pkcs8',
    pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  await cert.sign(key, 'SHA-256');
  const der = Buffer.from(cert.toSchema().toBER());
  return `-----BEGIN CERTIFICATE-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
}
