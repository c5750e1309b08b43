import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { As2Partner, GatewayConfig } from '../../config/load.js';
import { GatewayError, isGatewayError, type ErrorCode } from '../../errors.js';
import { formatOfFile, MEDIA_TYPES } from '../../pipeline/interpret.js';
import type { Receiver } from '../../pipeline/receive.js';
import { allowedScopes } from '../../security/scopes.js';
import { CmsError, cmsContentType, decompress, decryptEnveloped, micalgName, OID, verifyOpaque, type Cert, type Cipher, type Digest } from './cms.js';
import type { As2KeyRing } from './keys.js';
import { buildMdn, dispositionOf, parseMdnOptions, type As2Failure, type BuiltMdn, type Mic, verifySignedPart } from './mdn.js';
import { buildEntity, decodeBody, entityOfHttp, MimeError, parseContentType, parseEntity, splitMultipart, unquote, type MimeEntity } from './mime.js';

/** The error code recorded for each disposition. */
export const FAILURE_CODES: Record<As2Failure, ErrorCode> = {
  'insufficient-message-security': 'GW_AS2_SECURITY',
  'decryption-failed': 'GW_AS2_DECRYPTION',
  'authentication-failed': 'GW_AS2_AUTHENTICATION',
  'integrity-check-failed': 'GW_AS2_INTEGRITY',
  'unexpected-processing-error': 'GW_AS2_PROCESSING',
};

type Layer = 'encrypted' | 'signed' | 'compressed';

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

/** True when `url` is one of the partner's async MDN addresses (exact, or below an entry ending in /). */
export function asyncUrlAllowed(url: string, allowed: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const plain = `${u.origin}${u.pathname}${u.search}`;
  return allowed.some((a) => (a.endsWith('/') ? plain.startsWith(a) : plain === a));
}

export interface As2Request {
  headers: Record<string, string | string[] | undefined>;
  /** Reads the body (at most `limit` bytes); called once the partner is known. */
  readBody(limit: number): Promise<Buffer>;
  remote?: string;
}

export interface As2Response {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

function header(req: As2Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The request as it crossed the wire: its headers, an empty line, its body. */
function originalOf(req: As2Request, body: Buffer): Buffer {
  const headers: [string, string][] = [];
  for (const [k, v] of Object.entries(req.headers)) for (const one of Array.isArray(v) ? v : [v ?? '']) headers.push([k, one]);
  return buildEntity(headers, body);
}

export interface InboundDeps {
  knex: Knex;
  log: Logger;
  receiver: Receiver;
  config: () => GatewayConfig;
  keys: As2KeyRing;
  ourDefaultId: string;
  maxBodyBytes: number;
  /** An MDN posted to us for something we sent (handled by the sending side). */
  onMdn: (agreement: As2Partner, entity: MimeEntity, original: Buffer) => Promise<void>;
  /** The partner certificates in force now (profile and store, without retired or revoked ones). */
  certsOf?: (agreement: As2Partner) => Promise<readonly Cert[]>;
  /** Called when an asynchronous MDN is queued (wakes the sending loop). */
  wake?: () => void;
}

/**
 * The AS2 door's receiving side (POST /as2): identifies the agreement, opens the layers, checks
 * what the agreement requires, stores the payload with the signed original and the MDN in one
 * transaction, and only then answers (synchronous MDN) or queues the asynchronous MDN.
 */
export class As2Inbound {
  constructor(private readonly d: InboundDeps) {}

  async handle(req: As2Request): Promise<As2Response> {
    const from = unquote(header(req, 'as2-from')?.trim() ?? '');
    const to = unquote(header(req, 'as2-to')?.trim() ?? '');
    const messageId = header(req, 'message-id')?.trim();
    if (!from || !to) throw new GatewayError('GW_AS2_REQUEST', 'An AS2 message needs the AS2-From and AS2-To headers.');
    const configured = this.d.config().as2.get(from);
    if (!configured) throw new GatewayError('GW_AS2_PARTNER', `No AS2 agreement with "${from}" (AS2-From).`);
    const agreement = this.d.certsOf ? { ...configured, certs: await this.d.certsOf(configured) } : configured;
    const { partner } = agreement;
    const as2 = partner.as2!;
    if (!partner.channels.includes('as2')) throw new GatewayError('GW_AS2_PARTNER', `Partner ${partner.id} may not send over AS2.`);
    if (partner.state === 'suspended') throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${partner.id} is suspended.`);
    const ourId = as2.ourId ?? this.d.ourDefaultId;
    if (to !== ourId) throw new GatewayError('GW_AS2_PARTNER', `AS2-To "${to}" is not our AS2 name in the agreement with "${from}" (expected "${ourId}").`);
    if (!messageId) throw new GatewayError('GW_AS2_REQUEST', 'An AS2 message needs a Message-ID header.');
    await this.d.keys.ready();
    const body = await req.readBody(Math.min(partner.limits.maxBytes, this.d.maxBodyBytes));
    if (!body.length) throw new GatewayError('GW_AS2_REQUEST', 'The AS2 message has no body.');
    const top = entityOfHttp((h) => header(req, h), body);
    const original = originalOf(req, body);

    if (isMdn(top)) {
      await this.d.onMdn(agreement, top, original);
      return { status: 200, headers: [['Content-Type', 'text/plain']], body: Buffer.from('MDN received\r\n') };
    }

    const bodySha = createHash('sha256').update(body).digest('hex');
    const repeat = await this.repeated(partner.id, messageId, bodySha);
    if (repeat && 'status' in repeat) return repeat;

    const wantsMdn = Boolean(header(req, 'disposition-notification-to'));
    const options = parseMdnOptions(header(req, 'disposition-notification-options'));
    const asyncUrl = header(req, 'receipt-delivery-option')?.trim();
    const asyncAllowed = asyncUrl ? asyncUrlAllowed(asyncUrl, as2.asyncMdnUrls) : false;
    const mode: 'sync' | 'async' | 'none' = !wantsMdn ? 'none' : asyncUrl && asyncAllowed ? 'async' : 'sync';

    let u: Unwrapped | undefined;
    let failure: As2Failure | undefined;
    let reason = '';
    try {
      if (repeat) throw new MimeError(`Message-ID ${messageId} was accepted before with different content (gateway message ${repeat.conflict}); send new content under a new Message-ID`);
      u = unwrap(top, agreement.certs, this.d.keys, partner.limits.maxBytes);
      const missing = [as2.requireSigned && !u.layers.includes('signed') ? 'signed' : '', as2.requireEncrypted && !u.layers.includes('encrypted') ? 'encrypted' : ''].filter(Boolean);
      if (missing.length) {
        failure = 'insufficient-message-security';
        reason = `the agreement with ${from} requires messages to be ${missing.join(' and ')}`;
      }
    } catch (err) {
      if (err instanceof CmsError) failure = err.failure;
      else if (err instanceof MimeError) failure = 'unexpected-processing-error';
      else throw err;
      reason = (err as Error).message;
    }
    const mic = u ? micOf(u, options.micalg) : undefined;
    const text = failure
      ? `The AS2 message ${messageId} from ${from} was not accepted: ${reason}.`
      : `The AS2 message ${messageId} from ${from} was received and stored. This confirms receipt, not that its business content was processed.`;
    const mdn = mode === 'none' ? undefined : buildMdn({ ourId, partnerId: from, originalMessageId: messageId, ...(mic ? { mic } : {}), ...(failure ? { failure } : {}), text }, options.signed ? { pair: this.d.keys.active(), digest: options.micalg } : undefined);
    const describe = u ? describeLayers(u) : 'not opened';

    const payload = u?.payload;
    const payloadBytes = payload && !failure ? decodeBody(payload) : undefined;
    const mediaType = payload ? parseContentType(payload.headers.get('content-type')).type : '';
    const fileName = payload ? parseContentType(`x; ${payload.headers.get('content-disposition') ?? ''}`).params.filename : undefined;
    const code = failure ? FAILURE_CODES[failure] : undefined;
    try {
      const receipt = await this.d.receiver.receiveWith(
        payloadBytes
          ? { partnerId: partner.id, channel: 'as2', ...(MEDIA_TYPES[mediaType] ? { contentType: mediaType, format: MEDIA_TYPES[mediaType] } : formatOfFile(payloadBytes.subarray(0, 512))), bytes: payloadBytes, scopes: [...allowedScopes(partner)], ...(fileName ? { fileName } : {}) }
          : { partnerId: partner.id, channel: 'as2', contentType: header(req, 'content-type') ?? 'application/octet-stream', format: 'as2', bytes: original, state: 'rejected', problems: [{ code, message: `AS2 ${failure}: ${reason}` }] },
        async (trx, id) => {
          await trx('as2_messages').insert({
            id: randomUUID(),
            partner_id: partner.id,
            direction: 'inbound',
            as2_message_id: messageId,
            message_id: id,
            body_sha256: bodySha,
            original,
            layers: u?.layers ?? [],
            mic: mic?.value ?? null,
            mic_alg: mic ? micalgName(mic.digest) : null,
            disposition: dispositionOf(failure),
            accepted: !failure,
            mdn: mdn?.entity ?? null,
            mdn_mode: mode,
            mdn_url: mode === 'async' ? asyncUrl : null,
            status: mode === 'async' ? 'pending' : mode === 'sync' ? 'sent' : 'none',
            next_at: mode === 'async' ? trx.fn.now() : null,
          });
          await trx('events').insert([
            failure
              ? { message_id: id, type: 'as2.refused', code, detail: `AS2 ${messageId}: ${failure} (${reason}); MDN ${mode}` }
              : { message_id: id, type: 'as2.received', detail: `AS2 ${messageId}: ${describe}; MIC ${mic?.value} ${mic ? micalgName(mic.digest) : ''}; MDN ${mode}${options.signed ? ' signed' : ''}` },
            ...(asyncUrl && !asyncAllowed ? [{ message_id: id, type: 'as2.mdn-url-refused', code: 'GW_AS2_REQUEST', detail: `Receipt-Delivery-Option ${asyncUrl} is not in as2.asyncMdnUrls; the MDN was returned synchronously instead` }] : []),
          ]);
        },
      );
      this.d.log.info({ partner: partner.id, as2MessageId: messageId, messageId: receipt.messageId, failure, layers: u?.layers, mdn: mode }, failure ? 'as2: message refused' : 'as2: message received');
    } catch (err) {
      // Two copies at once: the other one was stored first; answer as for a repeat.
      if ((err as { code?: string }).code === '23505') {
        const again = await this.repeated(partner.id, messageId, bodySha);
        if (again && 'status' in again) return again;
      }
      throw err;
    }
    if (mode === 'async') this.d.wake?.();
    return respond(mode, mdn);
  }

  /**
   * A Message-ID accepted before: the same body gets the original MDN again and is not delivered
   * twice; another body under it is a conflict (refused with its own MDN).
   */
  private async repeated(partnerId: string, messageId: string, bodySha: string): Promise<As2Response | { conflict: string } | undefined> {
    try {
      return await this.findRepeat(partnerId, messageId, bodySha);
    } catch (err) {
      if (isGatewayError(err)) throw err;
      throw new GatewayError('GW_STORE_UNAVAILABLE', 'The message store is not reachable; nothing was accepted. Send the message again later.', { cause: err });
    }
  }

  private async findRepeat(partnerId: string, messageId: string, bodySha: string): Promise<As2Response | { conflict: string } | undefined> {
    const earlier = await this.d.knex('as2_messages').select('id', 'message_id', 'body_sha256', 'mdn', 'mdn_mode').where({ partner_id: partnerId, direction: 'inbound', as2_message_id: messageId, accepted: true }).first();
    if (!earlier) return undefined;
    if (earlier.body_sha256 !== bodySha) return { conflict: earlier.message_id as string };
    await this.d.knex.transaction(async (trx) => {
      await trx('events').insert({ message_id: earlier.message_id, type: 'as2.duplicate', detail: `AS2 ${messageId} received again with the same content; the original MDN was ${earlier.mdn_mode === 'async' ? 'queued again' : earlier.mdn_mode === 'sync' ? 'returned' : 'not requested'}, nothing was delivered again` });
      if (earlier.mdn_mode === 'async') await trx('as2_messages').where('id', earlier.id).update({ status: 'pending', next_at: trx.fn.now(), attempts: 0, updated_at: trx.fn.now() });
    });
    if (earlier.mdn_mode !== 'sync') return respond(earlier.mdn_mode, undefined);
    const stored = parseEntity(earlier.mdn as Buffer);
    return { status: 200, headers: [...stored.headers].map(([k, v]) => [k, v] as [string, string]), body: stored.body };
  }
}

function respond(mode: string, mdn: BuiltMdn | undefined): As2Response {
  if (mode === 'sync' && mdn) return { status: 200, headers: mdn.headers, body: mdn.body };
  return { status: 200, headers: [['Content-Type', 'text/plain']], body: Buffer.from(mode === 'async' ? 'Accepted; the MDN follows asynchronously.\r\n' : 'Accepted.\r\n') };
}

function describeLayers(u: Unwrapped): string {
  const parts = u.layers.map((l) =>
    l === 'signed' ? `signed (${u.signDigest}, certificate ${u.signer?.fingerprint.slice(0, 23)}…)` : l === 'encrypted' ? `encrypted (${u.cipher?.cipher}, ${u.cipher?.keyTransport})` : 'compressed',
  );
  return parts.length ? parts.join(' + ') : 'plain';
}

/** An MDN: multipart/report, or a signed multipart/report. */
function isMdn(e: MimeEntity): boolean {
  const ct = parseContentType(e.headers.get('content-type'));
  if (ct.type === 'multipart/report') return true;
  if (ct.type !== 'multipart/signed') return false;
  try {
    const [first] = splitMultipart(e.body, ct.params.boundary ?? '');
    return Boolean(first) && parseContentType(parseEntity(first as Buffer).headers.get('content-type')).type === 'multipart/report';
  } catch {
    return false;
  }
}
