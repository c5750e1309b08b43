/** The layers of an inbound AS2 message, opened in the order the sender nested them, and the MIC over what they protected. */
import { createHash } from 'node:crypto';
import type { Cert } from '../../formats/as2/certificates.js';
import { CmsError, cmsContentType, decompress, OID, verifyOpaque, type Digest } from '../../formats/as2/cms.js';
import { decryptEnveloped, type Cipher } from '../../formats/as2/cms-enveloped.js';
import type { As2KeyRing } from './keys.js';
import { type Mic, verifySignedPart } from '../../formats/as2/mdn.js';
import { decodeBody, MimeError, parseContentType, parseEntity, splitMultipart, type MimeEntity } from '../../formats/as2/mime.js';

export type Layer = 'encrypted' | 'signed' | 'compressed';

export interface Unwrapped {
  payload: MimeEntity;
  /** From the outside in. */
  layers: Layer[];
  /** The bytes the signature covers (the MIC of a signed message is computed over them). */
  signedContent?: Buffer;
  /** The first decrypted entity (the MIC of an encrypted, unsigned message). */
  decrypted?: Buffer;
  signer?: Cert;
  signDigest?: Digest;
  cipher?: { cipher: Cipher; keyTransport: string; ours: string };
}

/**
 * Opens the layers of an AS2 message in whatever order the sender nested them (encrypted, signed,
 * compressed, RFC 5402) until a payload remains. Throws CmsError or MimeError.
 */
export function unwrap(top: MimeEntity, certs: readonly Cert[], keys: As2KeyRing, maxBytes: number): Unwrapped {
  const out: Omit<Unwrapped, 'payload'> = { layers: [] };
  let entity = top;
  for (let depth = 0; depth < 6; depth++) {
    const ct = parseContentType(entity.headers.get('content-type'));
    if (ct.type === 'multipart/signed') {
      if (out.layers.includes('signed')) throw new MimeError('the message is signed twice');
      const [content, sigPart] = splitMultipart(entity.body, ct.params.boundary ?? '');
      if (!content || !sigPart) throw new MimeError('multipart/signed needs a content part and a signature part');
      const v = verifySignedPart(content, parseEntity(sigPart), certs);
      Object.assign(out, { signedContent: v.signed, signer: v.signer, signDigest: v.digest });
      out.layers.push('signed');
      entity = parseEntity(content);
      continue;
    }
    if (ct.type === 'application/pkcs7-mime' || ct.type === 'application/x-pkcs7-mime') {
      const der = decodeBody(entity);
      const kind = cmsContentType(der);
      if (kind === OID.envelopedData) {
        if (out.layers.includes('encrypted')) throw new MimeError('the message is encrypted twice');
        const d = decryptEnveloped(der, keys.decrypting());
        Object.assign(out, { decrypted: d.content, cipher: { cipher: d.cipher, keyTransport: d.keyTransport, ours: d.pair.cert.fingerprint } });
        out.layers.push('encrypted');
        entity = parseEntity(d.content);
      } else if (kind === OID.compressedData) {
        if (out.layers.filter((l) => l === 'compressed').length > 1) throw new MimeError('the message is compressed more than twice');
        out.layers.push('compressed');
        entity = parseEntity(decompress(der, maxBytes));
      } else if (kind === OID.signedData) {
        if (out.layers.includes('signed')) throw new MimeError('the message is signed twice');
        const v = verifyOpaque(der, certs);
        Object.assign(out, { signedContent: v.content, signer: v.signer, signDigest: v.digest });
        out.layers.push('signed');
        entity = parseEntity(v.content);
      } else throw new CmsError('unexpected-processing-error', `${ct.type} holds ${kind ? `CMS content ${kind}` : 'no CMS structure'}`);
      continue;
    }
    return { payload: entity, ...out };
  }
  throw new MimeError('the message nests too many layers');
}

/** RFC 4130 §7.3.1: over what was signed; else the decrypted entity; else the content without headers. */
export function micOf(u: Unwrapped, digest: Digest): Mic {
  const over = u.signedContent ?? u.decrypted ?? u.payload.body;
  return { value: createHash(digest).update(over).digest('base64'), digest };
}

/** The layers for the timeline: `encrypted (aes256-cbc, rsa-oaep) + signed (sha256, certificate …)`. */
export function describeLayers(u: Unwrapped): string {
  const parts = u.layers.map((l) =>
    l === 'signed'
      ? `signed (${u.signDigest}, certificate ${u.signer?.fingerprint.slice(0, 23)}…)`
      : l === 'encrypted'
        ? `encrypted (${u.cipher?.cipher}, ${u.cipher?.keyTransport})`
        : 'compressed',
  );
  return parts.length ? parts.join(' + ') : 'plain';
}
