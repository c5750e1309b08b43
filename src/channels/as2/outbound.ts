import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { As2Partner, GatewayConfig } from '../../config/load.js';
import { GatewayError } from '../../errors.js';
import { CmsError, compress, encryptEnveloped, micalgName, signDetached, type Cert, type Digest } from '../../formats/as2/cms.js';
import type { As2KeyRing } from './keys.js';
import { as2Name, newMessageId, parseMdn, type ReceivedMdn } from '../../formats/as2/mdn.js';
import {
  base64Lines,
  buildEntity,
  buildMultipart,
  entityOfHttp,
  MimeError,
  parseEntity,
  partBytes,
  type MimeEntity,
  type Part,
} from '../../formats/as2/mime.js';

export interface OutboundDeps {
  knex: Knex;
  log: Logger;
  config: () => GatewayConfig;
  keys: As2KeyRing;
  ourDefaultId: string;
  backoff: { baseMs: number; maxMs: number };
  /** The partner certificates in force now (profile and store, without retired or revoked ones). */
  certsOf?: (agreement: As2Partner) => Promise<readonly Cert[]>;
}

/** A message ready to post: HTTP headers, body, and the MIC we expect back. */
export interface BuiltMessage {
  headers: [string, string][];
  body: Buffer;
  mic: { value: string; digest: Digest };
  /** What was applied, from the outside in. */
  layers: ('encrypted' | 'signed' | 'compressed')[];
}

type Send = NonNullable<NonNullable<As2Partner['partner']['as2']>['send']>;

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

interface DueRow {
  id: string;
  partner_id: string;
  file_name: string;
  content_type: string;
  transfer_attempts: number;
}

/**
 * The AS2 door's sending side: mailbox documents of partners with `as2.send` are posted to them
 * (the Message-ID is committed before the first attempt, so a retry repeats it and the partner can
 * recognize the repeat), MDNs are verified, and asynchronous MDNs we owe partners are delivered.
 */
export class As2Outbound {
  /** Where partners post asynchronous MDNs (our POST /as2 as they reach it); set once listening. */
  publicUrl = '';

  constructor(private readonly d: OutboundDeps) {}

  async run(): Promise<number> {
    return (await this.sendDue()) + (await this.deliverMdns());
  }

  private agreements(): As2Partner[] {
    return [...this.d.config().as2.values()].filter((a) => a.partner.as2?.send && a.partner.state !== 'suspended');
  }

  /** Claims due mailbox documents (leased through transfer_next_at) and posts each. */
  async sendDue(): Promise<number> {
    const agreements = new Map(this.agreements().map((a) => [a.partner.id, a]));
    if (!agreements.size) return 0;
    const claimed = await this.d.knex.transaction(async (trx) => {
      const rows: DueRow[] = await trx('messages')
        .select('id', 'partner_id', 'file_name', 'content_type', 'transfer_attempts')
        .where('direction', 'outbound')
        .whereNull('collected_at')
        .whereIn('partner_id', [...agreements.keys()])
        .andWhere((q) => q.whereNull('transfer_next_at').orWhere('transfer_next_at', '<=', trx.fn.now()))
        .whereNotExists(
          trx('as2_messages')
            .select(trx.raw('1'))
            .whereRaw('as2_messages.message_id = messages.id')
            .andWhere('direction', 'outbound')
            .whereNot('status', 'sending'),
        )
        .orderBy('received_at')
        .limit(10)
        .forUpdate()
        .skipLocked();
      const out: (DueRow & { as2MessageId: string })[] = [];
      for (const r of rows) {
        const send = agreements.get(r.partner_id)!.partner.as2!.send!;
        const lease = new Date(Date.now() + (send.timeoutSeconds + 30) * 1000);
        await trx('messages').where('id', r.id).update({ transfer_next_at: lease });
        const existing = await trx('as2_messages').select('as2_message_id').where({ message_id: r.id, direction: 'outbound' }).first();
        let as2MessageId = existing?.as2_message_id as string | undefined;
        if (!as2MessageId) {
          const a = agreements.get(r.partner_id)!;
          as2MessageId = newMessageId(a.partner.as2!.ourId ?? this.d.ourDefaultId);
          await trx('as2_messages').insert({
            id: randomUUID(),
            partner_id: r.partner_id,
            direction: 'outbound',
            as2_message_id: as2MessageId,
            message_id: r.id,
            body_sha256: '',
            original: Buffer.alloc(0),
            mdn_mode: send.mdn,
            status: 'sending',
          });
        }
        out.push({ ...r, as2MessageId });
      }
      return out;
    });
    for (const row of claimed) await this.sendOne(agreements.get(row.partner_id)!, row, row.as2MessageId);
    return claimed.length;
  }

  private async sendOne(configured: As2Partner, row: DueRow, as2MessageId: string): Promise<void> {
    const { knex, log } = this.d;
    const a = this.d.certsOf ? { ...configured, certs: await this.d.certsOf(configured) } : configured;
    const as2 = a.partner.as2!;
    const send = as2.send!;
    const ourId = as2.ourId ?? this.d.ourDefaultId;
    const raw: Buffer = (await knex('messages').select('raw').where('id', row.id).first()).raw;
    const attempt = row.transfer_attempts + 1;
    let built: BuiltMessage;
    try {
      built = buildMessage({ send, certs: a.certs, signer: this.d.keys.active() }, { contentType: row.content_type, fileName: row.file_name, bytes: raw });
    } catch (err) {
      return this.giveUp(row, as2MessageId, `the message could not be built: ${(err as Error).message}`);
    }
    const headers: [string, string][] = [
      ['AS2-Version', '1.2'],
      ['AS2-From', as2Name(ourId)],
      ['AS2-To', as2Name(as2.id)],
      ['Message-ID', as2MessageId],
      ['Subject', send.subject],
      ['MIME-Version', '1.0'],
      ...built.headers,
      ...(send.mdn !== 'none'
        ? ([
            ['Disposition-Notification-To', this.publicUrl],
            ...(send.signedMdn
              ? [
                  [
                    'Disposition-Notification-Options',
                    `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, ${micalgName(built.mic.digest)}`,
                  ],
                ]
              : []),
            ...(send.mdn === 'async' ? [['Receipt-Delivery-Option', this.publicUrl]] : []),
          ] as [string, string][])
        : []),
    ];
    const original = buildEntity(headers, built.body);
    await knex('as2_messages')
      .where({ message_id: row.id, direction: 'outbound' })
      .update({
        original,
        body_sha256: createHash('sha256').update(built.body).digest('hex'),
        layers: built.layers,
        mic: built.mic.value,
        mic_alg: micalgName(built.mic.digest),
        attempts: attempt,
        updated_at: knex.fn.now(),
      });
    let res: Response;
    let body: Buffer;
    try {
      res = await fetch(send.url, { method: 'POST', headers, body: built.body, signal: AbortSignal.timeout(send.timeoutSeconds * 1000), redirect: 'manual' });
      body = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      return this.retry(a, row, as2MessageId, attempt, `${send.url}: ${(err as Error).message}`);
    }
    if (res.status < 200 || res.status > 299)
      return this.retry(a, row, as2MessageId, attempt, `${send.url} answered HTTP ${res.status}: ${body.toString('utf8').slice(0, 200)}`);
    await knex.transaction(async (trx) => {
      await trx('messages').where('id', row.id).update({ transfer_attempts: attempt, transfer_error: null, transfer_next_at: null, updated_at: trx.fn.now() });
      await trx('events').insert({
        message_id: row.id,
        type: 'as2.sent',
        detail:
          `AS2 ${as2MessageId} posted to ${send.url} (attempt ${attempt}, HTTP ${res.status}); ` +
          `${securityOf(send)}; MIC ${built.mic.value}; MDN ${send.mdn}`,
      });
      if (send.mdn === 'none') await this.finish(trx, row.id, as2MessageId, { status: 'sent', detail: 'no MDN asked for' }, undefined);
      else if (send.mdn === 'async')
        await trx('as2_messages').where({ message_id: row.id, direction: 'outbound' }).update({ status: 'pending', updated_at: trx.fn.now() });
    });
    log.info({ partner: a.partner.id, as2MessageId, messageId: row.id, status: res.status }, 'as2: message sent');
    if (send.mdn !== 'sync') return;
    const entity = body.length && res.headers.get('content-type') ? entityOfHttp((h) => res.headers.get(h), body) : undefined;
    await this.recordMdn(
      a,
      row.id,
      as2MessageId,
      entity,
      buildEntity(
        [...res.headers].map(([k, v]) => [k, v] as [string, string]),
        body,
      ),
    );
  }

  /** Verifies an MDN for one of our messages and records the outcome on its timeline. */
  private async recordMdn(a: As2Partner, messageId: string, as2MessageId: string, entity: MimeEntity | undefined, mdnBytes: Buffer): Promise<void> {
    const send = a.partner.as2!.send!;
    const sent = await this.d.knex('as2_messages').select('mic', 'mic_alg', 'attempts').where({ message_id: messageId, direction: 'outbound' }).first();
    let verdict: { status: 'processed' | 'failed' | 'mic-invalid'; detail: string };
    try {
      if (!entity) throw new MimeError('the answer carries no MDN');
      const mdn = parseMdn(entity, a.certs);
      verdict = judgeMdn(mdn, { messageId: as2MessageId, mic: sent.mic, micAlg: sent.mic_alg, signedMdn: send.signedMdn, retried: sent.attempts > 1 });
    } catch (err) {
      if (!(err instanceof CmsError) && !(err instanceof MimeError)) throw err;
      verdict = {
        status: 'failed',
        detail:
          err instanceof CmsError
            ? `the MDN's signature does not verify with the partner's certificate (${err.message})`
            : `the MDN cannot be read (${err.message})`,
      };
    }
    await this.d.knex.transaction((trx) => this.finish(trx, messageId, as2MessageId, verdict, mdnBytes));
    this.d.log.info({ partner: a.partner.id, as2MessageId, messageId, status: verdict.status }, `as2: MDN ${verdict.status}`);
  }

  private async finish(
    trx: Knex.Transaction,
    messageId: string,
    as2MessageId: string,
    verdict: { status: string; detail: string },
    mdn: Buffer | undefined,
  ): Promise<void> {
    await trx('as2_messages')
      .where({ message_id: messageId, direction: 'outbound' })
      .update({
        status: verdict.status,
        mdn: mdn ?? null,
        disposition: verdict.status,
        last_error: verdict.status === 'processed' || verdict.status === 'sent' ? null : verdict.detail,
        updated_at: trx.fn.now(),
      });
    if (verdict.status === 'processed' || verdict.status === 'sent') {
      await trx('messages').where('id', messageId).update({ collected_at: trx.fn.now(), state: 'collected', updated_at: trx.fn.now() });
    }
    await trx('events').insert({
      message_id: messageId,
      type: `as2.mdn-${verdict.status}`,
      ...(verdict.status === 'processed' || verdict.status === 'sent' ? {} : { code: 'GW_AS2_MDN' }),
      detail: `AS2 ${as2MessageId}: ${verdict.detail}`,
    });
  }

  private async retry(a: As2Partner, row: DueRow, as2MessageId: string, attempt: number, error: string): Promise<void> {
    const send = a.partner.as2!.send!;
    this.d.log.warn({ partner: a.partner.id, as2MessageId, attempt, err: error }, 'as2: send failed');
    if (attempt >= send.maxAttempts) return this.giveUp(row, as2MessageId, `${error}; gave up after ${attempt} attempts`);
    const delay = Math.min(this.d.backoff.baseMs * 2 ** (attempt - 1), this.d.backoff.maxMs);
    await this.d.knex.transaction(async (trx) => {
      await trx('messages')
        .where('id', row.id)
        .update({ transfer_attempts: attempt, transfer_next_at: new Date(Date.now() + delay), transfer_error: `GW_AS2_SEND: ${error}` });
      await trx('as2_messages').where({ message_id: row.id, direction: 'outbound' }).update({ last_error: error, updated_at: trx.fn.now() });
      await trx('events').insert({
        message_id: row.id,
        type: 'outbound.transfer-failed',
        code: 'GW_AS2_SEND',
        detail: `AS2 ${as2MessageId}: ${error}; next attempt in ${Math.round(delay / 1000)} s`,
      });
    });
  }

  private async giveUp(row: DueRow, as2MessageId: string, error: string): Promise<void> {
    await this.d.knex.transaction(async (trx) => {
      await trx('messages')
        .where('id', row.id)
        .update({ transfer_error: `GW_AS2_SEND: ${error}`, transfer_next_at: null });
      await trx('as2_messages').where({ message_id: row.id, direction: 'outbound' }).update({ status: 'failed', last_error: error, updated_at: trx.fn.now() });
      await trx('events').insert({ message_id: row.id, type: 'as2.send-failed', code: 'GW_AS2_SEND', detail: `AS2 ${as2MessageId}: ${error}` });
    });
  }

  /** An asynchronous MDN posted to us: matched to what we sent by Original-Message-ID. */
  async receiveMdn(a: As2Partner, entity: MimeEntity, original: Buffer): Promise<void> {
    let originalId: string | undefined;
    try {
      originalId = parseMdn(entity, a.certs).originalMessageId;
    } catch (err) {
      if (!(err instanceof CmsError) && !(err instanceof MimeError)) throw err;
      await this.d.knex('events').insert({
        partner_id: a.partner.id,
        type: 'as2.mdn-refused',
        code: 'GW_AS2_MDN',
        detail: `an MDN from ${a.partner.as2!.id} was refused: ${err.message}`,
      });
      throw new GatewayError('GW_AS2_MDN', `The MDN was refused: ${err.message}.`);
    }
    const sent = originalId
      ? await this.d
          .knex('as2_messages')
          .select('message_id', 'as2_message_id')
          .where({ partner_id: a.partner.id, direction: 'outbound', as2_message_id: originalId, status: 'pending' })
          .first()
      : undefined;
    if (!sent) {
      await this.d.knex('events').insert({
        partner_id: a.partner.id,
        type: 'as2.mdn-unmatched',
        code: 'GW_AS2_MDN',
        detail: `an MDN for ${originalId ?? '(no Original-Message-ID)'} matches nothing waiting for an MDN`,
      });
      throw new GatewayError('GW_AS2_MDN', `The MDN for ${originalId ?? '(no Original-Message-ID)'} matches no message waiting for one.`);
    }
    await this.recordMdn(a, sent.message_id, sent.as2_message_id, entity, original);
  }

  /** Asynchronous MDNs we owe partners: posted to their Receipt-Delivery-Option URL, retried with backoff. */
  async deliverMdns(): Promise<number> {
    const { knex } = this.d;
    const due: { id: string; message_id: string; partner_id: string; mdn: Buffer; mdn_url: string; attempts: number }[] = await knex.transaction(
      async (trx) => {
        const rows = await trx('as2_messages')
          .select('id', 'message_id', 'partner_id', 'mdn', 'mdn_url', 'attempts')
          .where({ direction: 'inbound', status: 'pending' })
          .andWhere('next_at', '<=', trx.fn.now())
          .orderBy('next_at')
          .limit(20)
          .forUpdate()
          .skipLocked();
        for (const r of rows)
          await trx('as2_messages')
            .where('id', r.id)
            .update({ next_at: new Date(Date.now() + 90_000) });
        return rows;
      },
    );
    for (const r of due) {
      const mdn = parseEntity(r.mdn);
      let error: string | undefined;
      try {
        const res = await fetch(r.mdn_url, {
          method: 'POST',
          headers: [...mdn.headers],
          body: mdn.body,
          signal: AbortSignal.timeout(60_000),
          redirect: 'manual',
        });
        await res.arrayBuffer();
        if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
      } catch (err) {
        error = (err as Error).message;
      }
      const attempts = r.attempts + 1;
      await knex.transaction(async (trx) => {
        if (!error) {
          await trx('as2_messages').where('id', r.id).update({ status: 'sent', attempts, next_at: null, last_error: null, updated_at: trx.fn.now() });
          await trx('events').insert({
            message_id: r.message_id,
            type: 'as2.mdn-sent',
            detail: `asynchronous MDN posted to ${r.mdn_url} (attempt ${attempts})`,
          });
          return;
        }
        const gaveUp = attempts >= 10;
        const delay = Math.min(this.d.backoff.baseMs * 2 ** (attempts - 1), this.d.backoff.maxMs);
        await trx('as2_messages')
          .where('id', r.id)
          .update({
            status: gaveUp ? 'failed' : 'pending',
            attempts,
            next_at: gaveUp ? null : new Date(Date.now() + delay),
            last_error: error,
            updated_at: trx.fn.now(),
          });
        await trx('events').insert({
          message_id: r.message_id,
          type: gaveUp ? 'as2.mdn-failed' : 'as2.mdn-retry',
          code: 'GW_AS2_SEND',
          detail:
            `asynchronous MDN to ${r.mdn_url}: ` +
            `${error}${gaveUp ? `; gave up after ${attempts} attempts` : `; next attempt in ${Math.round(delay / 1000)} s`}`,
        });
      });
    }
    return due.length;
  }
}

/** How a send is protected, for the timeline: "signed sha256, encrypted aes256-cbc/rsa-oaep-sha1, compressed". */
function securityOf(send: Send): string {
  const transport = send.keyTransport === 'rsa-oaep' ? `rsa-oaep-${send.oaepHash}` : send.keyTransport;
  const signed = send.sign !== 'none' ? `signed ${send.sign}` : 'unsigned';
  const encrypted = send.encrypt !== 'none' ? `encrypted ${send.encrypt}/${transport}` : 'not encrypted';
  return `${signed}, ${encrypted}${send.compress ? ', compressed' : ''}`;
}
