import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { As2Partner, GatewayConfig } from '../../config/load.js';
import { GatewayError, isGatewayError, type ErrorCode } from '../../errors.js';
import { queueOwedMdn } from '../../delivery/outbox.js';
import { recordEvents, type TimelineEvent } from '../../observability/events.js';
import { formatOfFile, MEDIA_TYPES } from '../../pipeline/interpret.js';
import type { Receiver } from '../../pipeline/receive.js';
import { allowedScopes } from '../../security/scopes.js';
import { channelNotListed } from '../../security/channel-refusals.js';
import type { Cert } from '../../formats/as2/certificates.js';
import { CMS_FAILURE_CODES, CmsError, micalgName } from '../../formats/as2/cms.js';
import type { As2KeyRing } from './keys.js';
import { audit } from '../../security/audit.js';
import { buildMdn, dispositionOf, parseMdnOptions, type As2Failure, type BuiltMdn, type Mic } from '../../formats/as2/mdn.js';
import {
  buildEntity,
  decodeBody,
  entityOfHttp,
  MimeError,
  parseContentType,
  parseEntity,
  splitMultipart,
  unquote,
  type MimeEntity,
} from '../../formats/as2/mime.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import { acceptedEarlier, answerWithOriginal, originalMdnFits, plainAnswer, type Earlier } from './repeats.js';
import { describeLayers, micOf, unwrap, type Unwrapped } from './unwrap.js';
import { isSuspended } from '../../types.js';

/** The error code recorded for each disposition. */
export const FAILURE_CODES: Record<As2Failure, ErrorCode> = { ...CMS_FAILURE_CODES, 'insufficient-message-security': 'GW_AS2_SECURITY' };

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
  /** The partner certificate that verified a message's signature (its last use). */
  noteSigner?: (cert: Cert) => void;
  /** Called when an asynchronous MDN is queued (wakes the sending loop). */
  wake?: () => void;
  /** The gateway's public AS2 URL (AS2_PUBLIC_URL), which the status URL in answers is made absolute against. */
  publicUrl?: () => string;
  /** Counts repeats of an accepted Message-ID as duplicates at the door. */
  metrics?: GatewayMetrics;
}

/**
 * The AS2 door's receiving side (POST /as2): identifies the agreement, opens the layers, checks
 * what the agreement requires, stores the payload with the signed original and the MDN in one
 * transaction, and only then answers (synchronous MDN) or queues the asynchronous MDN.
 */
export class As2Inbound {
  constructor(private readonly d: InboundDeps) {}

  async handle(req: As2Request): Promise<As2Response> {
    const { agreement, messageId, ourId, from } = await this.identify(req);
    const { partner } = agreement;
    const as2 = partner.as2!;
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
    const earlier = await acceptedEarlier(this.d.knex, partner.id, messageId);
    if (earlier?.body_sha256 === bodySha)
      return this.repeated(partner.id, earlier, messageId, answerWithOriginal(this.d.knex, earlier, messageId, 'with the same bytes'));

    const wantsMdn = Boolean(header(req, 'disposition-notification-to'));
    const options = parseMdnOptions(header(req, 'disposition-notification-options'));
    const asyncUrl = header(req, 'receipt-delivery-option')?.trim();
    const asyncAllowed = asyncUrl ? asyncUrlAllowed(asyncUrl, as2.asyncMdnUrls) : false;
    const mode: 'sync' | 'async' | 'none' = !wantsMdn ? 'none' : asyncUrl && asyncAllowed ? 'async' : 'sync';

    let u: Unwrapped | undefined;
    let payloadBytes: Buffer | undefined;
    let failure: As2Failure | undefined;
    let reason = '';
    try {
      u = unwrap(top, agreement.certs, this.d.keys, partner.limits.maxBytes);
      if (u.signer) this.d.noteSigner?.(u.signer);
      const missing = [
        as2.requireSigned && !u.layers.includes('signed') ? 'signed' : '',
        as2.requireEncrypted && !u.layers.includes('encrypted') ? 'encrypted' : '',
      ].filter(Boolean);
      if (missing.length) {
        failure = 'insufficient-message-security';
        reason = `the agreement with ${from} requires messages to be ${missing.join(' and ')}`;
      } else payloadBytes = decodeBody(u.payload);
    } catch (err) {
      if (err instanceof CmsError) failure = err.failure;
      else if (err instanceof MimeError) failure = 'unexpected-processing-error';
      else throw err;
      reason = (err as Error).message;
    }
    const mic = u ? micOf(u, options.micalg) : undefined;
    const payloadSha = payloadBytes ? createHash('sha256').update(payloadBytes).digest('hex') : undefined;
    const repeat = { messageId, bodySha, original, u, mic, mode, asyncUrl, signed: options.signed, ourId, from };
    if (earlier && payloadSha) {
      if (earlier.payload_sha256 === payloadSha) return this.sameContent(agreement, earlier, repeat);
      failure = 'unexpected-processing-error';
      reason =
        `Message-ID ${messageId} was accepted before with different content (gateway ` +
        `message ${earlier.message_id}); send new content under a new Message-ID`;
      payloadBytes = undefined;
    }
    // The gateway's id is chosen now so the MDN can name it: the sender finds its message by it.
    const gatewayId = randomUUID();
    const findIt = `Gateway message id ${gatewayId}; its status: ${this.statusUrl(gatewayId)}.`;
    const text = failure
      ? `The AS2 message ${messageId} from ${from} was not accepted: ${reason}. ${findIt}`
      : `The AS2 message ${messageId} from ${from} was received and stored. This confirms receipt, not that its business content was processed. ${findIt}`;
    const mdn =
      mode === 'none'
        ? undefined
        : buildMdn(
            { ourId, partnerId: from, originalMessageId: messageId, ...(mic ? { mic } : {}), ...(failure ? { failure } : {}), text },
            options.signed ? { pair: this.d.keys.active(), digest: options.micalg } : undefined,
          );
    const describe = u ? describeLayers(u) : 'not opened';

    const payload = u?.payload;
    const mediaType = payload ? parseContentType(payload.headers.get('content-type')).type : '';
    const fileName = payload ? parseContentType(`x; ${payload.headers.get('content-disposition') ?? ''}`).params.filename : undefined;
    const code = failure ? FAILURE_CODES[failure] : undefined;
    try {
      const receipt = await this.d.receiver.receiveWith(
        payloadBytes
          ? {
              partnerId: partner.id,
              channel: 'as2',
              ...(MEDIA_TYPES[mediaType] ? { contentType: mediaType, format: MEDIA_TYPES[mediaType] } : formatOfFile(payloadBytes.subarray(0, 512))),
              bytes: payloadBytes,
              scopes: [...allowedScopes(partner)],
              ...(fileName ? { fileName } : {}),
              id: gatewayId,
            }
          : {
              id: gatewayId,
              partnerId: partner.id,
              channel: 'as2',
              contentType: header(req, 'content-type') ?? 'application/octet-stream',
              format: 'as2',
              bytes: original,
              state: 'rejected',
              problems: [{ code, message: `AS2 ${failure}: ${reason}` }],
            },
        async (trx, id) => {
          await insertAs2Row(trx, as2Row(partner.id, id, repeat, mdn), {
            payload_sha256: payloadSha ?? null,
            disposition: dispositionOf(failure),
            accepted: !failure,
          });
          await recordEvents(trx, [
            failure
              ? { message_id: id, type: 'as2.refused', code: FAILURE_CODES[failure], detail: `AS2 ${messageId}: ${failure} (${reason}); MDN ${mode}` }
              : {
                  message_id: id,
                  type: 'as2.received',
                  detail:
                    `AS2 ${messageId}: ${describe}; MIC ${mic?.value} ` + `${mic ? micalgName(mic.digest) : ''}; MDN ${mode}${options.signed ? ' signed' : ''}`,
                },
            ...(asyncUrl && !asyncAllowed
              ? [
                  {
                    message_id: id,
                    type: 'as2.mdn-url-refused',
                    code: 'GW_AS2_REQUEST',
                    detail: `Receipt-Delivery-Option ${asyncUrl} is not in as2.asyncMdnUrls; the MDN was returned synchronously instead`,
                  } satisfies TimelineEvent,
                ]
              : []),
          ]);
        },
      );
      this.d.log.info(
        { partner: partner.id, as2MessageId: messageId, messageId: receipt.messageId, failure, layers: u?.layers, mdn: mode },
        failure ? 'as2: message refused' : 'as2: message received',
      );
    } catch (err) {
      // Two copies at once: the other one was stored first; answer as for a repeat.
      if ((err as { code?: string }).code === '23505') {
        const other = await acceptedEarlier(this.d.knex, partner.id, messageId);
        if (other?.body_sha256 === bodySha)
          return this.repeated(partner.id, other, messageId, answerWithOriginal(this.d.knex, other, messageId, 'with the same bytes'));
        if (other && payloadSha && other.payload_sha256 === payloadSha) return this.sameContent(agreement, other, repeat);
      }
      throw err;
    }
    if (mode === 'async') this.d.wake?.();
    return this.naming(gatewayId, respond(mode, mdn));
  }

  /** Where the partner API answers for a message (GET /v1/messages/{id}), absolute when the AS2 URL is known. */
  private statusUrl(messageId: string): string {
    const path = `/v1/messages/${messageId}`;
    const base = this.d.publicUrl?.();
    return base ? new URL(path, base).href : path;
  }

  /** The answer, with the headers that let the sender find its message: the gateway's id and its status URL. */
  private naming(messageId: string, res: As2Response): As2Response {
    const ids: [string, string][] = [
      ['X-Gateway-Message-Id', messageId],
      ['X-Gateway-Status-Url', this.statusUrl(messageId)],
    ];
    return { ...res, headers: [...res.headers.filter(([k]) => !/^x-gateway-/i.test(k)), ...ids] };
  }

  /**
   * The agreement a request belongs to, from AS2-From and AS2-To. A refusal is logged and audited
   * (no payload: nothing is stored for a sender without an agreement), so operations see probes
   * and misconfigured partners.
   */
  private async identify(req: As2Request): Promise<{ agreement: As2Partner; messageId: string; ourId: string; from: string }> {
    const from = unquote(header(req, 'as2-from')?.trim() ?? '');
    const to = unquote(header(req, 'as2-to')?.trim() ?? '');
    const messageId = header(req, 'message-id')?.trim();
    try {
      if (!from || !to) throw new GatewayError('GW_AS2_REQUEST', 'An AS2 message needs the AS2-From and AS2-To headers.');
      const configured = this.d.config().as2.get(from);
      if (!configured) throw new GatewayError('GW_AS2_PARTNER', `No AS2 agreement with "${from}" (AS2-From).`);
      const { partner } = configured;
      if (!partner.channels.includes('as2')) throw new GatewayError('GW_AS2_PARTNER', channelNotListed(partner, 'as2', 'send over AS2'));
      if (isSuspended(partner)) throw new GatewayError('GW_PARTNER_INACTIVE', `Partner ${partner.id} is suspended.`);
      const ourId = partner.as2!.ourId ?? this.d.ourDefaultId;
      if (to !== ourId) throw new GatewayError('GW_AS2_PARTNER', `AS2-To "${to}" is not our AS2 name in the agreement with "${from}" (expected "${ourId}").`);
      if (!messageId) throw new GatewayError('GW_AS2_REQUEST', 'An AS2 message needs a Message-ID header.');
      const agreement = this.d.certsOf ? { ...configured, certs: await this.d.certsOf(configured) } : configured;
      return { agreement, messageId, ourId, from };
    } catch (err) {
      if (isGatewayError(err)) await this.refused(req, { from, to, messageId }, err);
      throw err;
    }
  }

  private async refused(req: As2Request, who: { from: string; to: string; messageId: string | undefined }, err: GatewayError): Promise<void> {
    const partnerId = this.d.config().as2.get(who.from)?.partner.id;
    const details = {
      as2From: who.from.slice(0, 128),
      as2To: who.to.slice(0, 128),
      as2MessageId: who.messageId?.slice(0, 256) ?? null,
      code: err.code,
      reason: err.message,
    };
    this.d.log.warn({ ...details, partner: partnerId, remote: req.remote }, 'as2: request refused before reading the body');
    await audit(this.d.knex, {
      actor: partnerId ? `partner:${partnerId}` : `as2:${details.as2From || '(none)'}`,
      action: 'as2.refused',
      target: `as2:${details.as2To || '(none)'}`,
      ...(req.remote ? { source: req.remote } : {}),
      outcome: 'denied',
      details,
    }).catch((e: Error) => this.d.log.error({ err: e.message }, 'audit: cannot record the refused AS2 request'));
  }

  /**
   * A repeat of an accepted Message-ID whose payload is the one accepted, in other bytes (signed
   * and encrypted again): processed, nothing delivered again. The first copy's MDN answers it when
   * it fits (same MIC, same MDN request); else a new positive MDN with this copy's MIC, kept on a
   * row of its own for non-repudiation.
   */
  private sameContent(agreement: As2Partner, earlier: Earlier, r: RepeatContext): Promise<As2Response> {
    return this.repeated(agreement.partner.id, earlier, r.messageId, this.answerSameContent(agreement, earlier, r));
  }

  /** Once a repeat of an accepted Message-ID is answered: counted as a duplicate at the door, and its info line. */
  private async repeated(partnerId: string, earlier: Earlier, as2MessageId: string, answer: Promise<As2Response>): Promise<As2Response> {
    const response = this.naming(earlier.message_id, await answer);
    this.d.metrics?.messageDuplicate({ partnerId, channel: 'as2', format: 'as2' }, 'door');
    this.d.log.info(
      { partner: partnerId, messageId: earlier.message_id, as2MessageId, detected: 'door' },
      'message duplicate: the AS2 Message-ID was accepted before; answered as before, nothing delivered again',
    );
    return response;
  }

  private async answerSameContent(agreement: As2Partner, earlier: Earlier, r: RepeatContext): Promise<As2Response> {
    const micAlg = r.mic ? micalgName(r.mic.digest) : undefined;
    if (
      originalMdnFits(earlier, {
        ...(r.mic ? { mic: r.mic.value } : {}),
        ...(micAlg ? { micAlg } : {}),
        mode: r.mode,
        ...(r.asyncUrl ? { url: r.asyncUrl } : {}),
      })
    )
      return answerWithOriginal(this.d.knex, earlier, r.messageId, 'signed or encrypted anew, with the same content');
    const text =
      `The AS2 message ${r.messageId} from ${r.from} repeats one received and stored before (same content); it was not delivered again. ` +
      `Gateway message id ${earlier.message_id}; its status: ${this.statusUrl(earlier.message_id)}.`;
    const mdn =
      r.mode === 'none'
        ? undefined
        : buildMdn(
            { ourId: r.ourId, partnerId: r.from, originalMessageId: r.messageId, ...(r.mic ? { mic: r.mic } : {}), text },
            r.signed ? { pair: this.d.keys.active(), digest: r.mic?.digest ?? 'sha256' } : undefined,
          );
    await this.d.knex.transaction(async (trx) => {
      await insertAs2Row(trx, as2Row(agreement.partner.id, earlier.message_id, r, mdn), {
        duplicate_of: earlier.id,
        disposition: dispositionOf(),
        accepted: false,
      });
      await recordEvents(trx, [
        {
          message_id: earlier.message_id,
          type: 'as2.duplicate',
          detail:
            `AS2 ${r.messageId} received again, signed or encrypted anew, with the same content; a new MDN (MIC ${r.mic?.value ?? 'none'}) ` +
            `was ${r.mode === 'async' ? 'queued' : r.mode === 'sync' ? 'returned' : 'not requested'}, nothing was delivered again`,
        },
      ]);
    });
    this.d.log.info(
      { partner: agreement.partner.id, as2MessageId: r.messageId, messageId: earlier.message_id, mdn: r.mode },
      'as2: repeated content, not delivered again',
    );
    if (r.mode === 'async') this.d.wake?.();
    return respond(r.mode, mdn);
  }
}

interface RepeatContext {
  messageId: string;
  bodySha: string;
  original: Buffer;
  u: Unwrapped | undefined;
  mic: Mic | undefined;
  mode: 'sync' | 'async' | 'none';
  asyncUrl: string | undefined;
  signed: boolean;
  ourId: string;
  from: string;
}

/** The columns every inbound as2_messages row has. */
function as2Row(partnerId: string, messageId: string, r: RepeatContext, mdn: BuiltMdn | undefined) {
  return {
    id: randomUUID(),
    partner_id: partnerId,
    direction: 'inbound',
    as2_message_id: r.messageId,
    message_id: messageId,
    body_sha256: r.bodySha,
    original: r.original,
    layers: r.u?.layers ?? [],
    mic: r.mic?.value ?? null,
    mic_alg: r.mic ? micalgName(r.mic.digest) : null,
    mdn: mdn?.entity ?? null,
    mdn_mode: r.mode,
    mdn_url: r.mode === 'async' ? r.asyncUrl : null,
    status: r.mode === 'async' ? 'pending' : r.mode === 'sync' ? 'sent' : 'none',
  };
}

/** Stores the inbound record; an asynchronous MDN it owes the partner is queued in the outbox with it. */
async function insertAs2Row(trx: Knex.Transaction, row: ReturnType<typeof as2Row>, more: Record<string, unknown>): Promise<void> {
  await trx('as2_messages').insert({ ...row, ...more });
  if (row.mdn && row.mdn_url) await queueOwedMdn(trx, { partnerId: row.partner_id, messageId: row.message_id, record: row.id, url: row.mdn_url });
}

function respond(mode: string, mdn: BuiltMdn | undefined): As2Response {
  if (mode === 'sync' && mdn) return { status: 200, headers: mdn.headers, body: mdn.body };
  return plainAnswer(mode);
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
