import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Cert, KeyPair } from './certificates.js';
import { digestOf, micalgName, signDetached, verifyDetached, type Digest, CmsError } from './cms.js';
import {
  base64Lines,
  buildEntity,
  buildMultipart,
  canonicalize,
  decodeBody,
  parseContentType,
  parseEntity,
  parseHeaders,
  partBytes,
  splitMultipart,
  type MimeEntity,
  MimeError,
  type Part,
} from './mime.js';

/** The dispositions of RFC 4130 §7.5.3 that the gateway answers with. */
export type As2Failure =
  | 'insufficient-message-security'
  | 'decryption-failed'
  | 'authentication-failed'
  | 'integrity-check-failed'
  | 'unexpected-processing-error';

/** What a sender asked for in Disposition-Notification-Options (RFC 4130 §7.3). */
export interface MdnRequest {
  signed: boolean;
  /** The first MIC algorithm asked for that we support (default sha-256). */
  micalg: Digest;
}

/** Reads `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256, sha1`. */
export function parseMdnOptions(value: string | undefined): MdnRequest {
  const out: MdnRequest = { signed: false, micalg: 'sha256' };
  if (!value) return out;
  for (const param of value.split(';')) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    const name = param.slice(0, eq).trim().toLowerCase();
    const [, ...values] = param
      .slice(eq + 1)
      .split(',')
      .map((v) => v.trim().toLowerCase());
    if (name === 'signed-receipt-protocol') out.signed = values.includes('pkcs7-signature');
    if (name === 'signed-receipt-micalg') {
      const d = values.map(digestOf).find((x) => x);
      if (d) out.micalg = d;
    }
  }
  return out;
}

export interface Mic {
  value: string;
  digest: Digest;
}

export interface MdnFields {
  /** Our AS2 name (the partner's AS2-To). */
  ourId: string;
  partnerId: string;
  originalMessageId: string;
  mic?: Mic;
  failure?: As2Failure;
  /** The human-readable part. */
  text: string;
}

export interface BuiltMdn {
  messageId: string;
  /** The HTTP headers of the MDN (AS2 headers and the entity's Content-Type). */
  headers: [string, string][];
  body: Buffer;
  /** Headers and body, as kept for non-repudiation. */
  entity: Buffer;
}

export function newMessageId(ourId: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9.-]/g, '_');
  return `<${Date.now().toString(36)}.${randomBytes(12).toString('hex')}@${safe(ourId)}.${safe(hostname())}>`;
}

export function dispositionOf(failure?: As2Failure): string {
  return `automatic-action/MDN-sent-automatically; processed${failure ? `/error: ${failure}` : ''}`;
}

/** A quoted AS2 name where it needs quotes (RFC 4130 §6.2). */
export function as2Name(name: string): string {
  return /^[!#-[\]-~]+$/.test(name) ? name : `"${name.replace(/["\\]/g, '\\$&')}"`;
}

/** A message disposition notification (RFC 3798 inside multipart/report), signed when `signer` is given. */
export function buildMdn(f: MdnFields, signer?: { pair: KeyPair; digest: Digest }): BuiltMdn {
  const boundary = `----=_mdn_${randomBytes(12).toString('hex')}`;
  const notification = [
    `Reporting-UA: partner-gateway`,
    `Original-Recipient: rfc822; ${f.ourId}`,
    `Final-Recipient: rfc822; ${f.ourId}`,
    `Original-Message-ID: ${f.originalMessageId}`,
    ...(f.mic ? [`Received-Content-MIC: ${f.mic.value}, ${micalgName(f.mic.digest)}`] : []),
    `Disposition: ${dispositionOf(f.failure)}`,
  ].join('\r\n');
  const report: Part = {
    headers: [['Content-Type', `multipart/report; report-type=disposition-notification; boundary="${boundary}"`]],
    body: buildMultipart(
      [
        buildEntity(
          [
            ['Content-Type', 'text/plain; charset=us-ascii'],
            ['Content-Transfer-Encoding', '7bit'],
          ],
          Buffer.from(`${f.text}\r\n`, 'latin1'),
        ),
        buildEntity(
          [
            ['Content-Type', 'message/disposition-notification'],
            ['Content-Transfer-Encoding', '7bit'],
          ],
          Buffer.from(`${notification}\r\n`, 'latin1'),
        ),
      ],
      boundary,
    ),
  };
  const messageId = newMessageId(f.ourId);
  const as2: [string, string][] = [
    ['AS2-Version', '1.2'],
    ['AS2-From', as2Name(f.ourId)],
    ['AS2-To', as2Name(f.partnerId)],
    ['Message-ID', messageId],
    ['MIME-Version', '1.0'],
  ];
  let contentType = report.headers[0]![1];
  let body = report.body;
  if (signer) {
    const outer = `----=_signed_${randomBytes(12).toString('hex')}`;
    const signed = partBytes(report);
    const sig = signDetached(signed, signer.pair, signer.digest);
    contentType = `multipart/signed; protocol="application/pkcs7-signature"; micalg=${micalgName(signer.digest)}; boundary="${outer}"`;
    body = buildMultipart(
      [
        signed,
        buildEntity(
          [
            ['Content-Type', 'application/pkcs7-signature; name=smime.p7s'],
            ['Content-Transfer-Encoding', 'base64'],
            ['Content-Disposition', 'attachment; filename=smime.p7s'],
          ],
          base64Lines(sig),
        ),
      ],
      outer,
    );
  }
  const headers: [string, string][] = [...as2, ['Content-Type', contentType]];
  return { messageId, headers, body, entity: buildEntity(headers, body) };
}

export interface ReceivedMdn {
  originalMessageId?: string;
  disposition?: string;
  /** The failure named after processed/error or failed/…, if any. */
  failure?: string;
  /** The warning named after processed/warning (RFC 3798 §3.2.6.3): processed, with a remark such as duplicate-document. */
  warning?: string;
  mic?: { value: string; digest?: Digest };
  /** True when it was signed and the signature checked out with the partner's certificate. */
  signed: boolean;
  text: string;
}

/**
 * Reads an MDN (signed or not). A signature that does not check out with the partner's
 * certificates throws CmsError; a body that is not an MDN throws MimeError.
 */
/** `at`: when the certificates must be valid (now; a stored MDN is checked as of when it came). */
export function parseMdn(entity: MimeEntity, partnerCerts: readonly Cert[], at = new Date()): ReceivedMdn {
  let report = entity;
  let signed = false;
  let ct = parseContentType(entity.headers.get('content-type'));
  if (ct.type === 'multipart/signed') {
    const parts = splitMultipart(entity.body, ct.params.boundary ?? '');
    const [content, sigPart] = parts;
    if (!content || !sigPart) throw new MimeError('the signed MDN does not have two parts');
    verifySignedPart(content, parseEntity(sigPart), partnerCerts, at);
    signed = true;
    report = parseEntity(content);
    ct = parseContentType(report.headers.get('content-type'));
  }
  if (ct.type !== 'multipart/report') throw new MimeError(`an MDN is multipart/report, not ${ct.type}`);
  const parts = splitMultipart(report.body, ct.params.boundary ?? '').map(parseEntity);
  const dn = parts.find((p) => parseContentType(p.headers.get('content-type')).type === 'message/disposition-notification');
  if (!dn) throw new MimeError('the MDN has no message/disposition-notification part');
  const fields = parseHeaders(decodeBody(dn).toString('latin1'));
  const text = parts.find((p) => parseContentType(p.headers.get('content-type')).type === 'text/plain');
  const disposition = fields.get('disposition');
  const failure = disposition ? /(?:processed\/(?:error|failure)|failed\/[\w-]+)\s*:\s*(.+)$/i.exec(disposition)?.[1]?.trim() : undefined;
  const warning = disposition ? /processed\/warning\s*:\s*(.+)$/i.exec(disposition)?.[1]?.trim() : undefined;
  const micField = fields.get('received-content-mic');
  let mic: ReceivedMdn['mic'];
  if (micField) {
    const [value = '', alg] = micField.split(',').map((s) => s.trim());
    const digest = alg ? digestOf(alg) : undefined;
    mic = { value, ...(digest ? { digest } : {}) };
  }
  return {
    ...(fields.get('original-message-id') ? { originalMessageId: fields.get('original-message-id') } : {}),
    ...(disposition ? { disposition } : {}),
    ...(failure ? { failure } : {}),
    ...(warning ? { warning } : {}),
    ...(mic ? { mic } : {}),
    signed,
    text: text ? decodeBody(text).toString('latin1').trim() : '',
  };
}

/**
 * Checks the signature part of a multipart/signed over the content part: first over the bytes as
 * received, then with the MIME headers in canonical CRLF form and the content as is (RFC 4130
 * §7.3.1 canonicalizes the headers only; some stacks write bare LF headers), then over the wholly
 * canonical form (S/MIME text canonicalization). Returns the bytes that verified, which are what
 * the MIC is computed over.
 */
export function verifySignedPart(
  content: Buffer,
  sigPart: MimeEntity,
  trusted: readonly Cert[],
  at = new Date(),
): { signed: Buffer; signer: Cert; digest: Digest } {
  const sig = decodeBody(sigPart);
  const entity = parseEntity(content);
  const headerBytes = content.subarray(0, content.length - entity.body.length);
  const forms = [content, Buffer.concat([canonicalize(headerBytes), entity.body]), canonicalize(content)];
  let first: unknown;
  for (const form of forms.filter((f, i) => i === 0 || !f.equals(content))) {
    try {
      return { signed: form, ...verifyDetached(form, sig, trusted, at) };
    } catch (err) {
      first ??= err;
      // A signature none of the certificates made does not depend on the content's form.
      if (!(err instanceof CmsError) || err.failure === 'authentication-failed') throw err;
    }
  }
  throw first;
}
