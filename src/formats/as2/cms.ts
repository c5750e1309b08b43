import { constants, createHash, sign as nodeSign, timingSafeEqual, verify as nodeVerify } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';
import { GatewayError, type ErrorCode } from '../../errors.js';
import {
  type Element,
  derAlgorithm,
  derContext,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derSmallInteger,
  derTime,
  expectUniversal,
  isContext,
  isUniversal,
  octetsOf,
  oidOf,
  rawOf,
  readBer,
  TAG,
} from './asn1.js';
import { type Cert, type KeyPair, validAt } from './certificates.js';

/**
 * CMS (RFC 5652) for AS2: detached signatures and compressed data (RFC 3274) here, enveloped data
 * in cms-enveloped.ts.
 *
 * asn1.ts reads and writes the structures; the cryptography is Node's (OpenSSL). Signatures are
 * checked against the agreement's certificates only, never against one the message carries.
 * @see docs/decisions/0008-as2-door.md, docs/decisions/0021-as2-speed.md
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
 * Runs `fn`, turning anything but a gateway error into `failure`: the ASN.1 reader throws plain
 * errors on malformed structures, and Node's RSA step on a key block of the wrong size. Whatever
 * a sender puts in a message ends as a disposition, never as an internal error.
 */
export function guarded<T>(failure: CmsFailure, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new CmsError(failure, `${what} (${err instanceof Error ? err.message : String(err)})`);
  }
}

export type Digest = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export const DIGEST_OIDS: Record<string, Digest> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const OID_OF_DIGEST = Object.fromEntries(Object.entries(DIGEST_OIDS).map(([oid, d]) => [d, oid])) as Record<Digest, string>;

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
  mgf1: '1.2.840.113549.1.1.8',
  contentTypeAttr: '1.2.840.113549.1.9.3',
  messageDigestAttr: '1.2.840.113549.1.9.4',
  signingTimeAttr: '1.2.840.113549.1.9.5',
} as const;

/** The type of a ContentInfo and its content ([0] EXPLICIT). Throws Asn1Error. */
function readContentInfo(der: Buffer): { type: string; content: Element } {
  const ci = expectUniversal(readBer(der), TAG.sequence, 'the ContentInfo');
  const [type, wrapper] = ci.children;
  const content = isContext(wrapper, 0) && wrapper.constructed && wrapper.children.length === 1 ? wrapper.children[0] : undefined;
  if (!content) throw new Error('the ContentInfo has no [0] content');
  return { type: oidOf(type, 'the content type'), content };
}

/** The content of a CMS structure that must be of type `expected`. */
export function contentOf(der: Buffer, expected: string, what: string): Element {
  let ci: { type: string; content: Element };
  try {
    ci = readContentInfo(der);
  } catch (err) {
    throw new CmsError('unexpected-processing-error', `the ${what} is not a CMS structure (${(err as Error).message})`);
  }
  if (ci.type !== expected) throw new CmsError('unexpected-processing-error', `the ${what} holds CMS content type ${ci.type}, expected ${expected}`);
  return ci.content;
}

/** The content type of a CMS structure, or undefined when the bytes are not one. */
export function cmsContentType(der: Buffer): string | undefined {
  try {
    return readContentInfo(der).type;
  } catch {
    return undefined;
  }
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

/** What a SignerInfo holds that the check needs. */
interface SignerInfo {
  digestOid: string;
  /** The signed attributes as sent ([0] IMPLICIT SET OF Attribute), if any. */
  signedAttrs?: Element;
  signature: Buffer;
}

/**
 * The SignedData's fields (version, digestAlgorithms, encapContentInfo, [0] certificates, [1]
 * crls, signerInfos) and its first SignerInfo. The certificates are skipped: the check uses only
 * the agreement's.
 * @see RFC 5652 §5.1, §5.3
 */
function readSignedData(sd: Element): { encap: Element; signer: SignerInfo | undefined } {
  expectUniversal(sd, TAG.sequence, 'the SignedData');
  const [version, algorithms, encap, ...rest] = sd.children;
  expectUniversal(version, TAG.integer, 'the SignedData version');
  expectUniversal(algorithms, TAG.set, 'the digest algorithms');
  const encapsulated = expectUniversal(encap, TAG.sequence, 'the encapsulated content');
  const infos = expectUniversal(rest.pop(), TAG.set, 'the signer infos');
  if (rest.some((r) => !(isContext(r, 0) || isContext(r, 1)))) throw new Error('the SignedData has an unknown field');
  return { encap: encapsulated, signer: infos.children[0] && readSignerInfo(infos.children[0]) };
}

function readSignerInfo(si: Element): SignerInfo {
  expectUniversal(si, TAG.sequence, 'the signer info');
  const [version, sid, digestAlgorithm, ...rest] = si.children;
  expectUniversal(version, TAG.integer, 'the signer info version');
  if (!isUniversal(sid, TAG.sequence) && !isContext(sid, 0)) throw new Error('the signer info does not name its signer');
  const digestOid = oidOf(expectUniversal(digestAlgorithm, TAG.sequence, 'the digest algorithm').children[0], 'the digest algorithm');
  const signedAttrs = isContext(rest[0], 0) ? rest.shift() : undefined;
  expectUniversal(rest[0], TAG.sequence, 'the signature algorithm');
  const signature = octetsOf(expectUniversal(rest[1], TAG.octetString, 'the signature'));
  return { digestOid, signature, ...(signedAttrs ? { signedAttrs } : {}) };
}

/** The value of the message-digest attribute among the signed attributes, if there is one. */
function messageDigestOf(attrs: Element): Buffer | undefined {
  for (const a of attrs.children) {
    const [type, values] = expectUniversal(a, TAG.sequence, 'a signed attribute').children;
    if (oidOf(type, 'a signed attribute type') !== OID.messageDigestAttr) continue;
    const value = expectUniversal(values, TAG.set, 'the message digest').children[0];
    return isUniversal(value, TAG.octetString) ? octetsOf(value) : undefined;
  }
  return undefined;
}

function checkDetached(content: Buffer, signatureDer: Buffer, trusted: readonly Cert[], at: Date): Verified {
  const si = readSignedData(contentOf(signatureDer, OID.signedData, 'signature')).signer;
  if (!si) throw new CmsError('authentication-failed', 'the signature has no signer');
  const digest = DIGEST_OIDS[si.digestOid];
  if (!digest) throw new CmsError('authentication-failed', `the signature uses digest ${si.digestOid}, which is not accepted`);
  let signedBytes = content;
  let messageDigest: Buffer | undefined;
  if (si.signedAttrs) {
    signedBytes = Buffer.from(rawOf(si.signedAttrs)); // a copy: the tag byte changes
    signedBytes[0] = 0x31; // signed over as a SET OF, not as the [0] it is tagged with
    messageDigest = messageDigestOf(si.signedAttrs);
    if (!messageDigest) throw new CmsError('authentication-failed', 'the signature has signed attributes but no message digest');
  }
  const usable = trusted.filter((c) => validAt(c, at));
  const signer = usable.find((c) => {
    try {
      return nodeVerify(digest, signedBytes, { key: c.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, si.signature);
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

/**
 * A detached signature (DER) over `content`, with the usual signed attributes (content type,
 * signing time, message digest) and our certificate.
 * @see RFC 5652 §5.3, §5.4, §11
 */
export function signDetached(content: Buffer, pair: KeyPair, digest: Digest): Buffer {
  const attributes = [
    derSequence(derOid(OID.contentTypeAttr), derSet(derOid(OID.data))),
    derSequence(derOid(OID.signingTimeAttr), derSet(derTime(new Date()))),
    derSequence(derOid(OID.messageDigestAttr), derSet(derOctetString(createHash(digest).update(content).digest()))),
  ].sort(Buffer.compare); // DER orders a SET OF by its elements' encodings (X.690 §11.6)
  const signature = nodeSign(digest, derSet(...attributes), { key: pair.key, padding: constants.RSA_PKCS1_PADDING });
  const digestAlgorithm = derAlgorithm(OID_OF_DIGEST[digest]);
  const signerInfo = derSequence(
    derSmallInteger(1),
    pair.cert.issuerAndSerial,
    digestAlgorithm,
    derContext(0, ...attributes),
    derAlgorithm(OID.rsaEncryption),
    derOctetString(signature),
  );
  const signedData = derSequence(
    derSmallInteger(1),
    derSet(digestAlgorithm),
    derSequence(derOid(OID.data)),
    derContext(0, pair.cert.x509.raw),
    derSet(signerInfo),
  );
  return derSequence(derOid(OID.signedData), derContext(0, signedData));
}

/** The signed content of an opaque (application/pkcs7-mime; smime-type=signed-data) signature, and its check. */
export function verifyOpaque(der: Buffer, trusted: readonly Cert[]): Verified & { content: Buffer } {
  const content = guarded('unexpected-processing-error', 'the signed message is malformed', () => {
    const { encap } = readSignedData(contentOf(der, OID.signedData, 'signed message'));
    const eContent = encap.children[1];
    if (!isContext(eContent, 0) || !isUniversal(eContent.children[0], TAG.octetString))
      throw new CmsError('unexpected-processing-error', 'the signed message carries no content');
    return octetsOf(eContent.children[0]);
  });
  return { ...verifyDetached(content, der, trusted), content };
}

/** Compressed data (RFC 3274, zlib) holding `content`. */
export function compress(content: Buffer): Buffer {
  const compressed = derSequence(
    derSmallInteger(0),
    derSequence(derOid(OID.zlib)),
    derSequence(derOid(OID.data), derContext(0, derOctetString(deflateSync(content)))),
  );
  return derSequence(derOid(OID.compressedData), derContext(0, compressed));
}

/** The content of compressed data, refusing to inflate past `maxBytes` (decompression bombs). */
export function decompress(der: Buffer, maxBytes: number): Buffer {
  return guarded('unexpected-processing-error', 'the compressed data is malformed', () => inflateCompressed(der, maxBytes));
}

function inflateCompressed(der: Buffer, maxBytes: number): Buffer {
  const cd = expectUniversal(contentOf(der, OID.compressedData, 'compressed message'), TAG.sequence, 'the compressed data');
  const [, algorithm, encap] = cd.children;
  const algOid = isUniversal(algorithm, TAG.sequence) ? oidOf(algorithm.children[0], 'the compression algorithm') : undefined;
  if (algOid !== OID.zlib)
    throw new CmsError('unexpected-processing-error', `the message is compressed with ${algOid ?? 'an unknown algorithm'}; only zlib (RFC 3274) is accepted`);
  const eContent = isUniversal(encap, TAG.sequence) ? encap.children[1] : undefined;
  if (!isContext(eContent, 0) || !isUniversal(eContent.children[0], TAG.octetString))
    throw new CmsError('unexpected-processing-error', 'the compressed data is malformed (no content)');
  const inner = octetsOf(eContent.children[0]);
  try {
    return inflateSync(inner, { maxOutputLength: maxBytes });
  } catch (err) {
    if (err instanceof RangeError) throw new CmsError('unexpected-processing-error', `the compressed content inflates beyond the limit of ${maxBytes} bytes`);
    throw new CmsError('unexpected-processing-error', `the compressed content does not inflate (${(err as Error).message})`);
  }
}
