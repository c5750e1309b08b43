import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { As2Partner, GatewayConfig } from '../../config/load.js';
import { waitingDelivery } from '../../delivery/claim.js';
import { pushSettled } from '../../pipeline/delivery-effects.js';
import { recordOutcome } from '../../delivery/outcome.js';
import type { GatewayMetrics } from '../../observability/metrics.js';
import type { RetryPolicy } from '../../delivery/policy.js';
import type { FinalDeliveryState, OutboxItem, OutboxTarget, Outcome, TimelineNote, Transport } from '../../delivery/transport.js';
import { GatewayError } from '../../errors.js';
import { recordEvents } from '../../observability/events.js';
import type { Cert } from '../../formats/as2/certificates.js';
import { CmsError, micalgName } from '../../formats/as2/cms.js';
import type { As2KeyRing } from './keys.js';
import { as2Name, newMessageId, parseMdn } from '../../formats/as2/mdn.js';
import { buildEntity, entityOfHttp, MimeError, parseEntity, type MimeEntity } from '../../formats/as2/mime.js';
import { buildMessage, judgeMdn, securityOf, type BuiltMessage, type Send } from '../../formats/as2/message.js';
import { isSuspended } from '../../types.js';

export interface As2TransportDeps {
  knex: Knex;
  log: Logger;
  config: () => GatewayConfig;
  keys: As2KeyRing;
  ourDefaultId: string;
  /** The partner certificates in force now (profile and store, without retired or revoked ones). */
  certsOf?: (agreement: As2Partner) => Promise<readonly Cert[]>;
  /** Where partners post asynchronous MDNs (our POST /as2 as they reach it); read when a message is built. */
  publicUrl: () => string;
  /** The retry policy of a delivery, for outcomes recorded when an asynchronous MDN arrives. */
  policy: (item: OutboxItem) => RetryPolicy;
  /** An asynchronous MDN settles its delivery here, outside the worker: its outcome is counted here too. */
  metrics?: GatewayMetrics;
}

/** What the outbound as2_messages row keeps of the message we sent (the Message-ID is fixed at the first attempt). */
interface SentRecord {
  as2_message_id: string;
  mic: string | null;
  mic_alg: string | null;
}

type Verdict = { status: 'processed' | 'failed' | 'mic-invalid'; detail: string };

/**
 * The AS2 door's sending side, as outbox transports: `as2` posts a mailbox document to the partner
 * and judges its MDN (synchronous: in the same attempt; asynchronous: the delivery waits for it), and
 * `as2-mdn` posts an asynchronous MDN we owe. Retries, dead letter and replay are the outbox's.
 */
export class As2Transports {
  constructor(private readonly d: As2TransportDeps) {}

  readonly as2: Transport = { send: (item) => this.send(item), settle: pushSettled };

  readonly mdn: Transport = { send: (item) => this.sendOwedMdn(item), settle: (trx, items, state) => this.owedMdnSettled(trx, items, state) };

  private async agreement(partnerId: string): Promise<As2Partner & { send: Send }> {
    const configured = [...this.d.config().as2.values()].find((a) => a.partner.id === partnerId);
    const send = configured?.partner.as2?.send;
    if (!configured || !send)
      throw new GatewayError('GW_DELIVERY_TARGET', `partner ${partnerId} has no as2.send in its profile any more; nothing to send with`);
    if (isSuspended(configured.partner)) throw new GatewayError('GW_PARTNER_INACTIVE', `partner ${partnerId} is suspended; nothing is sent to it`);
    const certs = this.d.certsOf ? await this.d.certsOf(configured) : configured.certs;
    return { ...configured, certs, send };
  }

  /** One attempt: build (signed, encrypted, compressed as agreed), post under the fixed Message-ID, judge a synchronous MDN. */
  private async send(item: OutboxItem): Promise<Outcome> {
    const a = await this.agreement(item.partnerId);
    await this.d.keys.ready();
    const { send } = a;
    const as2 = a.partner.as2!;
    const message = await this.d.knex('messages').first('raw', 'file_name', 'content_type', 'collected_at').where('id', item.messageId);
    if (message.collected_at) return { status: 'delivered', detail: 'the partner collected the document from its mailbox first; not sent' };
    const as2MessageId = await this.messageIdOf(item, as2.ourId ?? this.d.ourDefaultId, send.mdn);
    let built: BuiltMessage;
    try {
      built = buildMessage(
        { send, certs: a.certs, signer: this.d.keys.active() },
        { contentType: message.content_type, fileName: message.file_name, bytes: message.raw },
      );
    } catch (err) {
      throw new GatewayError('GW_DELIVERY_TARGET', `AS2 ${as2MessageId}: the message could not be built: ${(err as Error).message}`, { cause: err });
    }
    const headers = this.headersOf(a, as2MessageId, built);
    await this.d
      .knex('as2_messages')
      .where({ message_id: item.messageId, direction: 'outbound' })
      .update({
        original: buildEntity(headers, built.body),
        body_sha256: createHash('sha256').update(built.body).digest('hex'),
        layers: built.layers,
        mic: built.mic.value,
        mic_alg: micalgName(built.mic.digest),
        updated_at: this.d.knex.fn.now(),
      });
    const { res, body } = await post(send, headers, built.body, as2MessageId);
    const sent: TimelineNote = {
      type: 'as2.sent',
      detail:
        `AS2 ${as2MessageId} posted to ${send.url} (attempt ${item.attempts}, HTTP ${res.status}); ` +
        `${securityOf(send)}; MIC ${built.mic.value}; MDN ${send.mdn}`,
    };
    if (send.mdn === 'none') return this.outcomeOf(item, as2MessageId, { status: 'processed', detail: 'no MDN asked for' }, undefined, [sent]);
    if (send.mdn === 'async') {
      const until = new Date(Date.now() + send.mdnTimeoutSeconds * 1000);
      return {
        status: 'waiting',
        detail: `AS2 ${as2MessageId} posted; its asynchronous MDN is awaited until ${until.toISOString()}`,
        until,
        notes: [sent],
        effects: (trx) => this.record(item.messageId, trx).update({ status: 'pending', updated_at: trx.fn.now() }),
      };
    }
    const entity = body.length && res.headers.get('content-type') ? entityOfHttp((h) => res.headers.get(h), body) : undefined;
    const answer = buildEntity(
      [...res.headers].map(([k, v]) => [k, v] as [string, string]),
      body,
    );
    const verdict = await this.judge(a, item, as2MessageId, entity);
    return this.outcomeOf(item, as2MessageId, verdict, answer, [sent]);
  }

  private record(messageId: string, q: Knex = this.d.knex) {
    return q('as2_messages').where({ message_id: messageId, direction: 'outbound' });
  }

  /** The Message-ID of this send: made and committed before the first attempt, so every retry repeats it. */
  private async messageIdOf(item: OutboxItem, ourId: string, mdnMode: Send['mdn']): Promise<string> {
    const existing: SentRecord | undefined = await this.record(item.messageId).first('as2_message_id');
    if (existing) return existing.as2_message_id;
    const as2MessageId = newMessageId(ourId);
    await this.d.knex('as2_messages').insert({
      id: randomUUID(),
      partner_id: item.partnerId,
      direction: 'outbound',
      as2_message_id: as2MessageId,
      message_id: item.messageId,
      body_sha256: '',
      original: Buffer.alloc(0),
      mdn_mode: mdnMode,
      status: 'sending',
    });
    return as2MessageId;
  }

  private headersOf(a: As2Partner & { send: Send }, as2MessageId: string, built: BuiltMessage): [string, string][] {
    const { send } = a;
    const as2 = a.partner.as2!;
    const url = this.d.publicUrl();
    const receipt: [string, string][] =
      send.mdn === 'none'
        ? []
        : [
            ['Disposition-Notification-To', url],
            ...(send.signedMdn
              ? ([
                  [
                    'Disposition-Notification-Options',
                    `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, ${micalgName(built.mic.digest)}`,
                  ],
                ] as [string, string][])
              : []),
            ...(send.mdn === 'async' ? ([['Receipt-Delivery-Option', url]] as [string, string][]) : []),
          ];
    return [
      ['AS2-Version', '1.2'],
      ['AS2-From', as2Name(as2.ourId ?? this.d.ourDefaultId)],
      ['AS2-To', as2Name(as2.id)],
      ['Message-ID', as2MessageId],
      ['Subject', send.subject],
      ['MIME-Version', '1.0'],
      ...built.headers,
      ...receipt,
    ];
  }

  /** Verifies an MDN for one of our messages against what we sent. */
  private async judge(a: As2Partner & { send: Send }, item: OutboxItem, as2MessageId: string, entity: MimeEntity | undefined): Promise<Verdict> {
    const sent = await this.record(item.messageId).first('mic', 'mic_alg');
    try {
      if (!entity) throw new MimeError('the answer carries no MDN');
      const mdn = parseMdn(entity, a.certs);
      return judgeMdn(mdn, { messageId: as2MessageId, mic: sent.mic, micAlg: sent.mic_alg, signedMdn: a.send.signedMdn, retried: item.attempts > 1 });
    } catch (err) {
      if (!(err instanceof CmsError) && !(err instanceof MimeError)) throw err;
      const detail =
        err instanceof CmsError
          ? `the MDN's signature does not verify with the partner's certificate (${err.message})`
          : `the MDN cannot be read (${err.message})`;
      return { status: 'failed', detail };
    }
  }

  /** Turns the verdict into the delivery's outcome, which keeps the MDN and its verdict on the as2_messages row. */
  private outcomeOf(item: OutboxItem, as2MessageId: string, verdict: Verdict, mdn: Buffer | undefined, notes: TimelineNote[]): Outcome {
    const processed = verdict.status === 'processed';
    const status = processed && !mdn ? 'sent' : verdict.status;
    this.d.log.info({ partner: item.partnerId, as2MessageId, messageId: item.messageId, status }, `as2: MDN ${status}`);
    const note: TimelineNote = { type: `as2.mdn-${status}`, detail: `AS2 ${as2MessageId}: ${verdict.detail}`, ...(processed ? {} : { code: 'GW_AS2_MDN' }) };
    const extras = {
      notes: [...notes, note],
      effects: async (trx: Knex.Transaction) => {
        await this.record(item.messageId, trx).update({ status, mdn: mdn ?? null, disposition: status, updated_at: trx.fn.now() });
      },
    };
    if (processed) return { status: 'delivered', detail: `AS2 ${as2MessageId}: ${verdict.detail}`, ...extras };
    return { status: 'failed', error: new GatewayError('GW_AS2_MDN', `AS2 ${as2MessageId}: ${verdict.detail}`), ...extras };
  }

  /**
   * An asynchronous MDN posted to us, matched to what we sent by Original-Message-ID: its verdict is
   * the outcome of the delivery waiting for it.
   */
  async receiveMdn(a: As2Partner, entity: MimeEntity, original: Buffer): Promise<void> {
    const agreement = { ...a, certs: this.d.certsOf ? await this.d.certsOf(a) : a.certs };
    let originalId: string | undefined;
    try {
      originalId = parseMdn(entity, agreement.certs).originalMessageId;
    } catch (err) {
      if (!(err instanceof CmsError) && !(err instanceof MimeError)) throw err;
      await this.partnerEvent(a, 'as2.mdn-refused', `an MDN from ${a.partner.as2!.id} was refused: ${err.message}`);
      throw new GatewayError('GW_AS2_MDN', `The MDN was refused: ${err.message}.`);
    }
    const sent = originalId
      ? await this.d
          .knex('as2_messages')
          .first('message_id', 'as2_message_id')
          .where({ partner_id: a.partner.id, direction: 'outbound', as2_message_id: originalId, status: 'pending' })
      : undefined;
    const item = sent ? await waitingDelivery(this.d.knex, `as2:${sent.message_id}`) : undefined;
    const send = a.partner.as2?.send;
    if (!sent || !item || !send) {
      const what = originalId ?? '(no Original-Message-ID)';
      await this.partnerEvent(a, 'as2.mdn-unmatched', `an MDN for ${what} matches nothing waiting for an MDN`);
      throw new GatewayError('GW_AS2_MDN', `The MDN for ${what} matches no message waiting for one.`);
    }
    const verdict = await this.judge({ ...agreement, send }, item, sent.as2_message_id, entity);
    const outcome = this.outcomeOf(item, sent.as2_message_id, verdict, original, []);
    const ctx = { log: this.d.log, policy: this.d.policy(item), transport: this.as2, ...(this.d.metrics ? { metrics: this.d.metrics } : {}) };
    await recordOutcome(this.d.knex, ctx, item, outcome, 'answer');
  }

  private async partnerEvent(a: As2Partner, type: 'as2.mdn-refused' | 'as2.mdn-unmatched', detail: string): Promise<void> {
    await recordEvents(this.d.knex, [{ partner_id: a.partner.id, type, code: 'GW_AS2_MDN', detail }]);
  }

  /** Posts an asynchronous MDN we owe to the partner's Receipt-Delivery-Option URL. */
  private async sendOwedMdn(item: OutboxItem): Promise<Outcome> {
    const target = item.target as Extract<OutboxTarget, { kind: 'as2-mdn' }>;
    const row = await this.d.knex('as2_messages').first('mdn').where('id', target.record);
    const mdn = parseEntity(row.mdn);
    let res: Response;
    try {
      res = await fetch(target.url, { method: 'POST', headers: [...mdn.headers], body: mdn.body, signal: AbortSignal.timeout(60_000), redirect: 'manual' });
      await res.arrayBuffer();
    } catch (err) {
      throw new GatewayError('GW_AS2_SEND', `asynchronous MDN to ${target.url}: ${(err as Error).message}`, { cause: err });
    }
    if (res.status < 200 || res.status > 299) throw new GatewayError('GW_AS2_SEND', `asynchronous MDN to ${target.url}: HTTP ${res.status}`);
    return {
      status: 'delivered',
      detail: `asynchronous MDN posted to ${target.url}`,
      notes: [{ type: 'as2.mdn-sent', detail: `asynchronous MDN posted to ${target.url} (attempt ${item.attempts})` }],
    };
  }

  /** The as2_messages row says whether the MDN we owed was sent; the message itself is unchanged. */
  private async owedMdnSettled(trx: Knex.Transaction, items: readonly OutboxItem[], state: FinalDeliveryState): Promise<void> {
    const records = items.map((item) => (item.target as Extract<OutboxTarget, { kind: 'as2-mdn' }>).record);
    await trx('as2_messages')
      .whereIn('id', records)
      .update({ status: state === 'delivered' ? 'sent' : 'failed', updated_at: trx.fn.now() });
  }
}

/** Posts the message; any answer but 2xx (or no answer) fails the attempt, retryably. */
async function post(send: Send, headers: [string, string][], body: Buffer, as2MessageId: string): Promise<{ res: Response; body: Buffer }> {
  try {
    const res = await fetch(send.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(send.timeoutSeconds * 1000), redirect: 'manual' });
    const answer = Buffer.from(await res.arrayBuffer());
    if (res.status >= 200 && res.status <= 299) return { res, body: answer };
    throw new GatewayError('GW_AS2_SEND', `AS2 ${as2MessageId}: ${send.url} answered HTTP ${res.status}: ${answer.toString('utf8').slice(0, 200)}`);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('GW_AS2_SEND', `AS2 ${as2MessageId}: ${send.url}: ${(err as Error).message}`, { cause: err });
  }
}
