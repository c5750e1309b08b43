import { constants, createCipheriv, createDecipheriv, createHmac, type KeyObject, privateDecrypt, publicEncrypt, randomBytes } from 'node:crypto';
import {
  CONTEXT,
  type Element,
  derAlgorithm,
  derElement,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derSmallInteger,
  derContext,
  expectUniversal,
  isContext,
  isUniversal,
  octetsOf,
  oidOf,
  rawOf,
  contentsOf,
  TAG,
} from './asn1.js';
import { type Cert, type KeyPair, sameName } from './certificates.js';
import { CmsError, contentOf, DIGEST_OIDS, guarded, OID, OID_OF_DIGEST } from './cms.js';

/**
 * CMS enveloped data (RFC 5652 §6) for AS2: AES-CBC or 3DES content, RSA key transport.
 *
 * RSA PKCS#1 v1.5 key transport, which Node 20 refuses to unpad (CVE-2023-46809), is decrypted raw
 * and unpadded here with implicit rejection, so a bad padding is indistinguishable from a wrong key.
 * @see docs/decisions/0008-as2-door.md
 */

export type Cipher = 'aes128-cbc' | 'aes192-cbc' | 'aes256-cbc' | '3des';

const CIPHERS: Record<string, { cipher: Cipher; node: string; keyLength: number; ivLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes128-cbc', node: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes192-cbc', node: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes256-cbc', node: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  '1.2.840.113549.3.7': { cipher: '3des', node: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
};
const OID_OF_CIPHER = Object.fromEntries(Object.entries(CIPHERS).map(([oid, c]) => [c.cipher, oid])) as Record<Cipher, string>;

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

export type KeyTransport = 'rsa-pkcs1' | 'rsa-oaep';
type Decrypted = { content: Buffer; cipher: Cipher; keyTransport: KeyTransport; pair: KeyPair };

/** Decrypts enveloped data addressed to one of our key pairs (any of them, during a rollover). */
export function decryptEnveloped(der: Buffer, pairs: readonly KeyPair[]): Decrypted {
  return guarded('decryption-failed', 'the encrypted message is malformed', () => openEnveloped(der, pairs));
}

/** A KeyTransRecipientInfo (RFC 5652 §6.2.1): whom it names, how and what the key is encrypted with. */
interface KeyTrans {
  rid: Element;
  algorithm: Element;
  encryptedKey: Buffer;
}

/**
 * EnvelopedData: version, [0] originatorInfo, recipientInfos, encryptedContentInfo, [1]
 * unprotectedAttrs. Only key transport recipients (SEQUENCEs) are read; the other kinds are
 * context-tagged and skipped.
 */
function readEnveloped(ed: Element): { recipients: KeyTrans[]; encryptedContentInfo: Element } {
  const fields = expectUniversal(ed, TAG.sequence, 'the EnvelopedData').children;
  expectUniversal(fields[0], TAG.integer, 'the EnvelopedData version');
  const at = isContext(fields[1], 0) ? 2 : 1;
  const recipientInfos = expectUniversal(fields[at], TAG.set, 'the recipient infos');
  const encryptedContentInfo = expectUniversal(fields[at + 1], TAG.sequence, 'the encrypted content info');
  const recipients = recipientInfos.children.filter((r) => isUniversal(r, TAG.sequence)).map(readKeyTrans);
  return { recipients, encryptedContentInfo };
}

function readKeyTrans(ri: Element): KeyTrans {
  const [version, rid, algorithm, encryptedKey] = ri.children;
  expectUniversal(version, TAG.integer, 'the recipient info version');
  if (!rid || !(isUniversal(rid, TAG.sequence) || isContext(rid, 0))) throw new Error('the recipient info does not name its recipient');
  return {
    rid,
    algorithm: expectUniversal(algorithm, TAG.sequence, 'the key encryption algorithm'),
    encryptedKey: octetsOf(expectUniversal(encryptedKey, TAG.octetString, 'the encrypted key')),
  };
}

/** Whether a recipient identifier names `cert`: issuer and serial number, or subject key identifier. */
function namesCertificate(rid: Element, cert: Cert): boolean {
  if (rid.tagClass === CONTEXT) return Boolean(cert.subjectKeyId?.equals(octetsOf(rid)));
  const [issuer, serial] = rid.children;
  if (!isUniversal(issuer, TAG.sequence) || !isUniversal(serial, TAG.integer)) return false;
  return contentsOf(serial).equals(cert.serialNumber) && sameName(rawOf(issuer), cert.issuer);
}

/** The content cipher, its IV and the encrypted content of an EncryptedContentInfo (RFC 5652 §6.1). */
function readEncryptedContent(eci: Element): { alg: (typeof CIPHERS)[string]; iv: Buffer; encrypted: Buffer } {
  const [, algorithm, content] = eci.children;
  const [algOid, ivParam] = expectUniversal(algorithm, TAG.sequence, 'the content encryption algorithm').children;
  const oid = oidOf(algOid, 'the content encryption algorithm');
  const alg = CIPHERS[oid];
  if (!alg) throw new CmsError('decryption-failed', `the content is encrypted with ${oid}, which is not accepted (AES-CBC or 3DES)`);
  const iv = isUniversal(ivParam, TAG.octetString) ? octetsOf(ivParam) : undefined;
  if (iv?.length !== alg.ivLength) throw new CmsError('decryption-failed', 'the content encryption has no valid IV');
  if (!isContext(content, 0)) throw new CmsError('decryption-failed', 'the enveloped data carries no encrypted content');
  return { alg, iv, encrypted: octetsOf(content) };
}

function openEnveloped(der: Buffer, pairs: readonly KeyPair[]): Decrypted {
  const { recipients, encryptedContentInfo } = readEnveloped(contentOf(der, OID.envelopedData, 'encrypted message'));
  const { alg, iv, encrypted } = readEncryptedContent(encryptedContentInfo);
  let match: { pair: KeyPair; ri: KeyTrans } | undefined;
  for (const ri of recipients) {
    const pair = pairs.find((p) => namesCertificate(ri.rid, p.cert));
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
  const { cek, keyTransport } = contentKey(match.pair, match.ri, alg.keyLength);
  try {
    if (cek.length !== alg.keyLength) throw new Error('key length');
    const d = createDecipheriv(alg.node, cek, iv);
    return { content: Buffer.concat([d.update(encrypted), d.final()]), cipher: alg.cipher, keyTransport, pair: match.pair };
  } catch {
    throw new CmsError('decryption-failed', 'the message could not be decrypted with our private key');
  }
}

/** The content-encryption key, by the key transport the recipient info names. */
function contentKey(pair: KeyPair, ri: KeyTrans, keyLength: number): { cek: Buffer; keyTransport: KeyTransport } {
  const [kea, params] = ri.algorithm.children;
  const oid = oidOf(kea, 'the key encryption algorithm');
  if (oid === OID.rsaEncryption) return { cek: decryptKeyPkcs1(pair.key, ri.encryptedKey, keyLength), keyTransport: 'rsa-pkcs1' };
  if (oid !== OID.rsaOaep) throw new CmsError('decryption-failed', `key transport ${oid} is not accepted (RSA PKCS#1 v1.5 or RSA-OAEP)`);
  const oaepHash = oaepHashOf(params);
  try {
    return { cek: privateDecrypt({ key: pair.key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash }, ri.encryptedKey), keyTransport: 'rsa-oaep' };
  } catch {
    throw new CmsError('decryption-failed', 'the message could not be decrypted with our private key');
  }
}

/** The hash of RSAES-OAEP-params ([0] EXPLICIT hashAlgorithm, SHA-1 when absent; RFC 4055 §4.1). */
function oaepHashOf(params: Element | undefined): string {
  if (!params || isUniversal(params, TAG.null)) return 'sha1';
  const hash = expectUniversal(params, TAG.sequence, 'the RSA-OAEP parameters').children.find((c) => isContext(c, 0));
  if (!hash) return 'sha1';
  const oid = oidOf(expectUniversal(hash.children[0], TAG.sequence, 'the RSA-OAEP hash').children[0], 'the RSA-OAEP hash');
  return DIGEST_OIDS[oid] ?? 'sha1';
}

export type OaepHash = 'sha1' | 'sha256';

/** The RSAES-OAEP parameters for a hash: SHA-1 is the default and is written as an empty SEQUENCE (RFC 4055 §4.1, DER omits defaults). */
function oaepParams(hash: OaepHash): Buffer {
  if (hash === 'sha1') return derSequence();
  const alg = derAlgorithm(OID_OF_DIGEST[hash]);
  return derSequence(derContext(0, alg), derContext(1, derAlgorithm(OID.mgf1, alg)));
}

/**
 * Enveloped data (DER) for one recipient certificate. RSA-OAEP uses `oaepHash` for both the
 * label hash and MGF1 (RFC 4055 §4.1).
 */
export function encryptEnveloped(content: Buffer, recipient: Cert, cipher: Cipher, keyTransport: KeyTransport, oaepHash: OaepHash = 'sha1'): Buffer {
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
  const recipientInfo = derSequence(
    derSmallInteger(0),
    recipient.issuerAndSerial,
    oaep ? derAlgorithm(OID.rsaOaep, oaepParams(oaepHash)) : derAlgorithm(OID.rsaEncryption),
    derOctetString(encryptedKey),
  );
  const encryptedContentInfo = derSequence(derOid(OID.data), derAlgorithm(oid, derOctetString(iv)), derElement(0x80, encrypted)); // [0] IMPLICIT OCTET STRING
  const enveloped = derSequence(derSmallInteger(0), derSet(recipientInfo), encryptedContentInfo);
  return derSequence(derOid(OID.envelopedData), derContext(0, enveloped));
}
