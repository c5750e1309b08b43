import { createHash, randomBytes } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import type { As2Agreement } from '../../types.js';
import type { Cert } from './certificates.js';
import { compress, micalgName, signDetached, type Digest } from './cms.js';
import { encryptEnveloped } from './cms-enveloped.js';
import type { ReceivedMdn } from './mdn.js';
import { base64Lines, buildEntity, buildMultipart, partBytes, type Part } from './mime.js';

/** A message ready to post: HTTP headers, body, and the MIC we expect back. */
export interface BuiltMessage {
  headers: [string, string][];
  body: Buffer;
  mic: { value: string; digest: Digest };
  /** What was applied, from the outside in. */
  layers: ('encrypted' | 'signed' | 'compressed')[];
}

/** How we send to a partner over AS2 (`as2.send` in its profile). */
export type Send = NonNullable<As2Agreement['send']>;

/** The first of the partner's certificates that is valid now: the one we encrypt to. */
function encryptionCert(certs: readonly Cert[]): Cert | undefined {
  const now = new Date();
  return certs.find((c) => new Date(c.x509.validFrom) <= now && now <= new Date(c.x509.validTo));
}

/**
 * Builds an AS2 message as the agreement says: the document as a MIME entity, compressed
 * (RFC 5402) and signed and encrypted as configured. The MIC is what the partner's MDN must
 * return: over the signed entity, else the entity encrypted, else the content.
 */
export function buildMessage(
  a: { send: Send; certs: readonly Cert[]; signer: Parameters<typeof signDetached>[1] },
  doc: { contentType: string; fileName: string; bytes: Buffer },
): BuiltMessage {
  const { send } = a;
  // Base64 inside: the signed entity is then already in canonical form (CRLF lines only), so it
  // verifies the same whether the receiver canonicalizes text (OpenSSL without -binary) or not.
  const plain = send.sign === 'none' && send.encrypt === 'none' && !send.compress;
  let part: Part = {
    headers: [
      ['Content-Type', doc.contentType],
      ['Content-Transfer-Encoding', plain ? 'binary' : 'base64'],
      ['Content-Disposition', `attachment; filename="${doc.fileName.replace(/["\\\r\n]/g, '_')}"`],
    ],
    body: plain ? doc.bytes : base64Lines(doc.bytes),
  };
  let micOver: Buffer = doc.bytes;
  const micDigest: Digest = send.sign === 'none' ? 'sha256' : send.sign;
  if (send.compress) {
    part = {
      headers: [
        ['Content-Type', 'application/pkcs7-mime; smime-type=compressed-data; name=smime.p7z'],
        ['Content-Transfer-Encoding', 'base64'],
        ['Content-Disposition', 'attachment; filename=smime.p7z'],
      ],
      body: base64Lines(compress(partBytes(part))),
    };
  }
  if (send.sign !== 'none') {
    micOver = partBytes(part);
    const boundary = `----=_as2_${randomBytes(12).toString('hex')}`;
    const sig = signDetached(micOver, a.signer, send.sign);
    part = {
      headers: [['Content-Type', `multipart/signed; protocol="application/pkcs7-signature"; micalg=${micalgName(send.sign)}; boundary="${boundary}"`]],
      body: buildMultipart(
        [
          micOver,
          buildEntity(
            [
              ['Content-Type', 'application/pkcs7-signature; name=smime.p7s'],
              ['Content-Transfer-Encoding', 'base64'],
              ['Content-Disposition', 'attachment; filename=smime.p7s'],
            ],
            base64Lines(sig),
          ),
        ],
        boundary,
      ),
    };
  } else if (send.encrypt !== 'none' || send.compress) micOver = partBytes(part);
  if (send.encrypt !== 'none') {
    const cert = encryptionCert(a.certs);
    if (!cert) throw new GatewayError('GW_AS2_SEND', 'none of the partner certificates is valid today; nothing to encrypt to');
    part = {
      headers: [
        ['Content-Type', 'application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m'],
        ['Content-Transfer-Encoding', 'binary'],
        ['Content-Disposition', 'attachment; filename=smime.p7m'],
      ],
      body: encryptEnveloped(partBytes(part), cert, send.encrypt, send.keyTransport, send.oaepHash),
    };
  }
  return {
    headers: part.headers,
    body: part.body,
    mic: { value: createHash(micDigest).update(micOver).digest('base64'), digest: micDigest },
    layers: layersOf(send),
  };
}

/** The layers a message is sent with, from the outside in (as inbound rows record them). */
export function layersOf(send: Send): ('encrypted' | 'signed' | 'compressed')[] {
  return [
    ...(send.encrypt !== 'none' ? (['encrypted'] as const) : []),
    ...(send.sign !== 'none' ? (['signed'] as const) : []),
    ...(send.compress ? (['compressed'] as const) : []),
  ];
}

/**
 * What an MDN says about a message we sent: processed, or why not. `processed/warning` is processed
 * (RFC 3798 §3.2.6.3). A repeat of a Message-ID we already posted (a retry after a timeout) may be
 * answered `processed/warning: duplicate-document` without a MIC: the partner processed the earlier
 * copy, which is success; on a first attempt the same answer proves nothing and fails.
 */
export function judgeMdn(
  mdn: ReceivedMdn,
  expected: { messageId: string; mic: string; micAlg: string; signedMdn: boolean; retried: boolean },
): { status: 'processed' | 'failed' | 'mic-invalid'; detail: string } {
  if (expected.signedMdn && !mdn.signed) return { status: 'failed', detail: 'the MDN is not signed, though a signed MDN was asked for' };
  if (mdn.originalMessageId && mdn.originalMessageId !== expected.messageId)
    return { status: 'failed', detail: `the MDN answers ${mdn.originalMessageId}, not ${expected.messageId}` };
  if (!mdn.disposition || !/;\s*processed\s*(?:\/\s*warning\s*:.*)?$/i.test(mdn.disposition) || mdn.failure)
    return { status: 'failed', detail: `the partner answered "${mdn.disposition ?? 'no disposition'}"${mdn.text ? `: ${mdn.text.slice(0, 300)}` : ''}` };
  const warned = mdn.warning ? `; the partner warned "${mdn.warning}"` : '';
  const signed = mdn.signed ? '; MDN signature verified' : '';
  if (!mdn.mic) {
    if (expected.retried && /^duplicate-document$/i.test(mdn.warning ?? ''))
      return {
        status: 'processed',
        detail: `processed: the partner answered a repeat of this Message-ID with duplicate-document (it had processed an earlier attempt)${signed}`,
      };
    return { status: 'failed', detail: `the MDN carries no Received-Content-MIC, so it does not prove what was received${warned}` };
  }
  if (mdn.mic.value !== expected.mic || (mdn.mic.digest && micalgName(mdn.mic.digest) !== expected.micAlg))
    return {
      status: 'mic-invalid',
      detail: `the MDN's MIC ${mdn.mic.value} (${mdn.mic.digest ?? '?'}) differs from ours ${expected.mic} (${expected.micAlg})`,
    };
  return { status: 'processed', detail: `processed; MIC ${mdn.mic.value} matches${signed}${warned}` };
}

/** How a send is protected, for the timeline: "signed sha256, encrypted aes256-cbc/rsa-oaep-sha1, compressed". */
export function securityOf(send: Send): string {
  const transport = send.keyTransport === 'rsa-oaep' ? `rsa-oaep-${send.oaepHash}` : send.keyTransport;
  const signed = send.sign !== 'none' ? `signed ${send.sign}` : 'unsigned';
  const encrypted = send.encrypt !== 'none' ? `encrypted ${send.encrypt}/${transport}` : 'not encrypted';
  return `${signed}, ${encrypted}${send.compress ? ', compressed' : ''}`;
}
