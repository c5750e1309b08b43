import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { activateAs2Key, addAs2Key, listAs2Keys, retireAs2Key } from '../../src/channels/as2/keys.js';
import { runCli } from '../helpers/cli.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ERP, gatewaySuite, waitFor, type GatewaySuite } from '../helpers/gateway.js';
import {
  allowAs2,
  buildWithOpenssl,
  curlPost,
  HttpSink,
  openAsPartner,
  openssl,
  opensslIdentity,
  opensslMdn,
  opensslMic,
  verifyMdnWithOpenssl,
  type Identity,
  type OpenedByPartner,
  type Protection,
  type SinkAnswer,
} from '../helpers/as2.js';
import { withControl } from '../helpers/x12.js';

const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const OUR_ID = 'GATEWAY AS2';
const PROTECTIONS: Protection[] = ['plain', 'signed', 'encrypted', 'signed+encrypted', 'compressed+signed+encrypted'];

const agreeAs2 = (s: GatewaySuite, partnerId: string, as2Yaml: string, certs: Record<string, string>) =>
  allowAs2(s.t.gw, s.t.partnersDir, partnerId, as2Yaml, certs);

/** The gateway's certificate(s) as partners receive them: written to files for OpenSSL. */
function gatewayCerts(s: GatewaySuite, dir: string): Record<string, string> {
  const keysDir = path.join(s.t.dataDir, 'as2', 'keys');
  return Object.fromEntries(
    listAs2Keys(keysDir, s.t.gw.security.keys).map((k) => {
      const f = path.join(dir, `gateway-${k.name}.crt`);
      writeFileSync(f, k.certPem);
      return [k.state, f];
    }),
  );
}

function as2Headers(from: string, messageId: string, digest: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    'AS2-Version': '1.2',
    'AS2-From': from,
    'AS2-To': `"${OUR_ID}"`,
    'Message-ID': messageId,
    Subject: 'ASN',
    'Disposition-Notification-To': 'as2@acme.example',
    'Disposition-Notification-Options': `signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, ${digest}`,
    ...extra,
  };
}

let seq = 0;
const newId = (what: string) => `<${what}-${process.pid}-${++seq}@acme.example>`;

describe('AS2 door: messages built by OpenSSL, posted with curl (real server, real database)', function () {
  this.timeout(120_000);
  const suite = gatewaySuite({ env: { AS2_ID: OUR_ID } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-as2-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let acme: Identity;
  let stranger: Identity;
  const partnerSink = new HttpSink();
  let gatewayCert: string;

  before(async () => {
    acme = await opensslIdentity(dir, 'acme-as2');
    stranger = await opensslIdentity(dir, 'stranger');
    await partnerSink.start();
    await agreeAs2(suite, 'acme-supply', `id: ACME-AS2\ncertificates: [certs/acme-as2.pem]\nrequireSigned: false\nasyncMdnUrls: ["${partnerSink.url}/mdn/"]`, {
      'acme-as2.pem': acme.cert,
    });
    await agreeAs2(suite, 'hansen-textil', `id: HANSEN-AS2\ncertificates: [certs/acme-as2.pem]\nrequireSigned: true\nrequireEncrypted: true`, {});
    gatewayCert = gatewayCerts(suite, dir).active as string;
  });
  after(() => partnerSink.stop());

  /** The inbound AS2 record, with the attempts of the asynchronous MDN we owe (an outbox delivery). */
  const as2Row = (as2MessageId: string) =>
    suite.db
      .knex('as2_messages as a')
      .leftJoin('deliveries as d', 'd.idempotency_key', suite.db.knex.raw(`'as2-mdn:' || a.id`))
      .select('a.*', 'd.attempts')
      .where({ 'a.as2_message_id': as2MessageId, 'a.direction': 'inbound' })
      .orderBy('a.created_at', 'desc')
      .first();
  const erpGot = (messageId: string) => suite.erp.requests.filter((r) => r.body.messageId === messageId);

  /** Posts, reads the MDN (from the answer or from the partner's endpoint) and checks it with OpenSSL. */
  async function send(o: {
    protection: Protection;
    digest: 'sha1' | 'sha256';
    mdn: 'sync' | 'async';
    payload?: string;
    signer?: Identity;
    recipient?: string;
    micalg?: string;
    from?: string;
    alter?: (b: Buffer) => Buffer;
    oaep?: boolean;
    cipher?: string;
    base64?: boolean;
    messageId?: string;
    chunked?: boolean;
    keyid?: boolean;
    stream?: boolean;
  }) {
    const built = await buildWithOpenssl(dir, {
      protection: o.protection,
      digest: o.digest,
      payload: Buffer.from(o.payload ?? withControl(soi), 'latin1'),
      partner: o.signer ?? acme,
      gatewayCert: o.recipient ?? gatewayCert,
      ...(o.oaep ? { oaep: true } : {}),
      ...(o.cipher ? { cipher: o.cipher } : {}),
      ...(o.base64 ? { base64: true } : {}),
      ...(o.keyid ? { keyid: true } : {}),
      ...(o.stream ? { stream: true } : {}),
    });
    const messageId = o.messageId ?? newId(`${o.protection}-${o.digest}-${o.mdn}`);
    const headers = {
      ...as2Headers(
        o.from ?? 'ACME-AS2',
        messageId,
        o.micalg ?? (o.digest === 'sha1' ? 'sha1' : 'sha-256'),
        o.mdn === 'async' ? { 'Receipt-Delivery-Option': `${partnerSink.url}/mdn/acme` } : {},
      ),
      ...built.headers,
    };
    const body = o.alter ? o.alter(built.body) : built.body;
    const res = await curlPost(dir, `${suite.url}/as2`, headers, body, o.chunked ? ['-H', 'Transfer-Encoding: chunked'] : []);
    assert.equal(res.status, 200, res.body.toString());
    let mdnType: string;
    let mdnBody: Buffer;
    if (o.mdn === 'sync') {
      mdnType = res.headers['content-type'] as string;
      mdnBody = res.body;
    } else {
      const got = (await waitFor('the async MDN', async () => partnerSink.received.find((r) => r.body.includes(messageId)), Boolean))!;
      assert.equal(got.url, '/mdn/acme');
      assert.equal(got.headers['as2-to'], 'ACME-AS2');
      mdnType = got.headers['content-type'] as string;
      mdnBody = got.body;
    }
    assert.match(mdnType, /^multipart\/signed/, 'a signed MDN was asked for');
    const mdn = await verifyMdnWithOpenssl(dir, mdnType, mdnBody, gatewayCert);
    assert.equal(mdn.originalMessageId, messageId);
    return { mdn, built, messageId, res, body };
  }

  describe('the matrix: {plain, signed, encrypted, signed+encrypted, compressed+signed+encrypted} × {sync, async MDN} × {SHA-1, SHA-256}', () => {
    for (const protection of PROTECTIONS)
      for (const mdnMode of ['sync', 'async'] as const)
        for (const digest of ['sha1', 'sha256'] as const)
          it(`${protection}, ${mdnMode} MDN, ${digest}: processed, MIC as openssl dgst computes it, delivered to the ERP once`, async () => {
            const { mdn, built, messageId, res } = await send({ protection, digest, mdn: mdnMode });
            assert.equal(mdn.disposition, 'automatic-action/MDN-sent-automatically; processed');
            assert.equal(mdn.mic, `${await opensslMic(dir, built.micOver, digest)}, ${digest === 'sha1' ? 'sha1' : 'sha-256'}`);
            const row = await as2Row(messageId);
            assert.equal(row.accepted, true);
            // The sender finds its message: the gateway's id in the HTTP answer (MDN or plain 200) and in the MDN's text.
            assert.equal(res.headers['x-gateway-message-id'], row.message_id);
            const statusUrl = `${suite.url}/v1/messages/${row.message_id}`;
            assert.equal(res.headers['x-gateway-status-url'], statusUrl);
            assert.ok(mdn.report.includes(`Gateway message id ${row.message_id}; its status: ${statusUrl}.`), mdn.report);
            // Outside in: the encryption is opened first, the compression last.
            assert.deepEqual(
              row.layers,
              {
                plain: [],
                signed: ['signed'],
                encrypted: ['encrypted'],
                'signed+encrypted': ['encrypted', 'signed'],
                'compressed+signed+encrypted': ['encrypted', 'signed', 'compressed'],
              }[protection],
            );
            // Non-repudiation: the original as received and the MDN we sent are kept.
            assert.ok(row.original.includes(built.body.subarray(0, 64)));
            assert.ok(row.mdn.includes(Buffer.from(messageId)));
            const msg = await waitFor(
              'delivery',
              () => suite.db.knex('messages').first('state').where('id', row.message_id),
              (m) => m.state === 'delivered',
            );
            assert.equal(msg.state, 'delivered');
            assert.equal(erpGot(row.message_id).filter((r) => r.body.type === 'asn').length, 1);
          });
  });

  /** A refusal: the right disposition, the message kept as rejected, nothing for the ERP. */
  async function refused(r: Awaited<ReturnType<typeof send>>, failure: string, code: string) {
    assert.equal(r.mdn.disposition, `automatic-action/MDN-sent-automatically; processed/error: ${failure}`);
    const row = await as2Row(r.messageId);
    assert.equal(row.accepted, false);
    const msg = await suite.db.knex('messages').first('state', 'problems', 'format').where('id', row.message_id);
    assert.equal(msg.state, 'rejected');
    assert.equal(msg.problems[0].code, code);
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(erpGot(row.message_id).length, 0);
    const replay = await fetch(`${suite.url}/v1/erp/messages/${row.message_id}`, { headers: { authorization: `Bearer ${ERP.key}` } });
    assert.equal(((await replay.json()) as { state: string }).state, 'rejected');
  }

  describe('variants, refusals and repeats', () => {
    it('accepts RSA-OAEP key transport, 3DES and AES-128, base64 S/MIME, chunked transfer encoding and the "sha256" spelling', async () => {
      for (const o of [{ oaep: true }, { cipher: 'des3' }, { cipher: 'aes128', base64: true }, { cipher: 'aes192' }, { chunked: true, micalg: 'sha256' }]) {
        const { mdn, built } = await send({ protection: 'signed+encrypted', digest: 'sha256', mdn: 'sync', ...o });
        assert.equal(mdn.disposition, 'automatic-action/MDN-sent-automatically; processed', JSON.stringify(o));
        assert.equal(mdn.mic, `${await opensslMic(dir, built.micOver, 'sha256')}, sha-256`);
      }
    });

    it('accepts streamed BER (openssl cms -stream: indefinite lengths, content in pieces) and a recipient named by key identifier (-keyid)', async () => {
      for (const o of [{ stream: true }, { keyid: true }, { stream: true, keyid: true }]) {
        const { mdn, built } = await send({ protection: 'signed+encrypted', digest: 'sha256', mdn: 'sync', ...o });
        assert.equal(mdn.disposition, 'automatic-action/MDN-sent-automatically; processed', JSON.stringify(o));
        assert.equal(mdn.mic, `${await opensslMic(dir, built.micOver, 'sha256')}, sha-256`);
      }
    });

    it('refuses an unsigned, unencrypted message where the agreement requires both: insufficient-message-security', async () => {
      await refused(await send({ protection: 'plain', digest: 'sha256', mdn: 'sync', from: 'HANSEN-AS2' }), 'insufficient-message-security', 'GW_AS2_SECURITY');
    });

    it('refuses a message encrypted for another certificate: decryption-failed', async () => {
      await refused(
        await send({ protection: 'signed+encrypted', digest: 'sha256', mdn: 'sync', recipient: stranger.cert }),
        'decryption-failed',
        'GW_AS2_DECRYPTION',
      );
    });

    it('refuses a message signed by someone else: authentication-failed', async () => {
      await refused(await send({ protection: 'signed', digest: 'sha256', mdn: 'sync', signer: stranger }), 'authentication-failed', 'GW_AS2_AUTHENTICATION');
    });

    it('refuses content altered after signing: integrity-check-failed', async () => {
      const alter = (b: Buffer) => Buffer.from(b.toString('latin1').replace('BSN*', 'BSN+'), 'latin1');
      await refused(await send({ protection: 'signed', digest: 'sha1', mdn: 'async', alter }), 'integrity-check-failed', 'GW_AS2_INTEGRITY');
    });

    it('refuses a body that is not the CMS structure it claims to be: unexpected-processing-error', async () => {
      const messageId = newId('garbage');
      const res = await curlPost(
        dir,
        `${suite.url}/as2`,
        { ...as2Headers('ACME-AS2', messageId, 'sha-256'), 'Content-Type': 'application/pkcs7-mime; smime-type=enveloped-data' },
        Buffer.from('this is not DER at all'),
      );
      assert.equal(res.status, 200);
      const mdn = await verifyMdnWithOpenssl(dir, res.headers['content-type'] as string, res.body, gatewayCert);
      assert.equal(mdn.disposition, 'automatic-action/MDN-sent-automatically; processed/error: unexpected-processing-error');
      const row = await as2Row(messageId);
      const msg = await suite.db.knex('messages').first('state', 'problems', 'raw').where('id', row.message_id);
      assert.equal(msg.state, 'rejected');
      assert.equal(msg.problems[0].code, 'GW_AS2_PROCESSING');
      assert.ok(msg.raw.includes(Buffer.from('this is not DER at all')), 'the original is kept');
    });

    it('retries an asynchronous MDN the partner could not take, then delivers it', async () => {
      let calls = 0;
      partnerSink.respond = () => ({ status: ++calls === 1 ? 503 : 200 });
      try {
        const { messageId } = await send({ protection: 'signed', digest: 'sha256', mdn: 'async' });
        const row = await waitFor(
          'the MDN to be sent',
          () => as2Row(messageId),
          (r) => r.status === 'sent',
        );
        assert.equal(row.attempts, 2);
        assert.ok(await suite.db.knex('events').where({ message_id: row.message_id, type: 'delivery.failed', code: 'GW_AS2_SEND' }).first());
      } finally {
        partnerSink.respond = () => ({ status: 200 });
      }
    });

    it('answers a repeated Message-ID with the original MDN and delivers nothing again', async () => {
      const first = await send({ protection: 'signed', digest: 'sha256', mdn: 'sync' });
      const repeats = () => gauge(suite, 'gateway_messages_duplicate_total', 'partner="acme-supply",channel="as2",format="as2",detected="door"');
      const before = await repeats();
      const again = await curlPost(dir, `${suite.url}/as2`, { ...as2Headers('ACME-AS2', first.messageId, 'sha-256'), ...first.built.headers }, first.body);
      assert.equal(again.status, 200);
      assert.ok(again.body.equals(first.res.body), 'the same MDN, byte for byte');
      const rows = await suite.db.knex('as2_messages').where({ as2_message_id: first.messageId, direction: 'inbound' });
      assert.equal(rows.length, 1);
      await waitFor(
        'delivery',
        () => suite.db.knex('messages').first('state').where('id', rows[0].message_id),
        (m) => m.state === 'delivered',
      );
      await new Promise((res) => setTimeout(res, 300));
      assert.equal(erpGot(rows[0].message_id).filter((r) => r.body.type === 'asn').length, 1);
      const events = await suite.db.knex('events').where({ message_id: rows[0].message_id, type: 'as2.duplicate' });
      assert.equal(events.length, 1);
      assert.equal((await repeats()) - before, 1, 'counted as a duplicate at the door');
    });

    it(
      'answers a repeat signed and encrypted anew (other bytes, same payload) as processed, delivering nothing again; ' +
        'other content under the Message-ID is refused',
      async () => {
        const payload = Buffer.from(withControl(soi), 'latin1');
        const messageId = newId('resigned');
        const headers = (digest: string) => as2Headers('ACME-AS2', messageId, digest);
        const first = await buildWithOpenssl(dir, { protection: 'signed+encrypted', digest: 'sha256', payload, partner: acme, gatewayCert });
        const r1 = await curlPost(dir, `${suite.url}/as2`, { ...headers('sha-256'), ...first.headers }, first.body);
        assert.equal(
          (await verifyMdnWithOpenssl(dir, r1.headers['content-type'] as string, r1.body, gatewayCert)).disposition,
          'automatic-action/MDN-sent-automatically; processed',
        );
        const row = await as2Row(messageId);
        await waitFor(
          'delivery',
          () => suite.db.knex('messages').first('state').where('id', row.message_id),
          (m) => m.state === 'delivered',
        );

        // The sender's retry: signed again and encrypted again by OpenSSL (a new session key), same document.
        const second = await buildWithOpenssl(dir, { protection: 'signed+encrypted', digest: 'sha256', payload, partner: acme, gatewayCert });
        assert.ok(!second.body.equals(first.body), 'two encryptions differ on the wire');
        const r2 = await curlPost(dir, `${suite.url}/as2`, { ...headers('sha-256'), ...second.headers }, second.body);
        assert.equal(r2.status, 200);
        const mdn2 = await verifyMdnWithOpenssl(dir, r2.headers['content-type'] as string, r2.body, gatewayCert);
        assert.equal(mdn2.disposition, 'automatic-action/MDN-sent-automatically; processed');
        assert.equal(mdn2.mic, `${await opensslMic(dir, second.micOver, 'sha256')}, sha-256`, 'the MIC of the retry, as the sender computes it');
        assert.ok(r2.body.equals(r1.body), 'the same MIC and MDN request: the original MDN, byte for byte');

        // Another retry asking for a SHA-1 MIC: a new positive MDN with that MIC.
        const third = await buildWithOpenssl(dir, { protection: 'signed+encrypted', digest: 'sha1', payload, partner: acme, gatewayCert });
        const r3 = await curlPost(dir, `${suite.url}/as2`, { ...headers('sha1'), ...third.headers }, third.body);
        const mdn3 = await verifyMdnWithOpenssl(dir, r3.headers['content-type'] as string, r3.body, gatewayCert);
        assert.equal(mdn3.disposition, 'automatic-action/MDN-sent-automatically; processed');
        assert.equal(mdn3.mic, `${await opensslMic(dir, third.micOver, 'sha1')}, sha1`);
        assert.equal(mdn3.originalMessageId, messageId);

        await new Promise((res) => setTimeout(res, 300));
        assert.equal(erpGot(row.message_id).filter((r) => r.body.type === 'asn').length, 1, 'delivered once');
        assert.equal(
          (
            await suite.db
              .knex('messages')
              .where({ partner_id: 'acme-supply', channel: 'as2' })
              .whereIn('id', suite.db.knex('as2_messages').select('message_id').where({ as2_message_id: messageId }))
          ).length,
          1,
          'one stored message',
        );
        assert.equal((await suite.db.knex('events').where({ message_id: row.message_id, type: 'as2.duplicate' })).length, 2);
        const kept = await suite.db.knex('as2_messages').where({ as2_message_id: messageId, duplicate_of: row.id });
        assert.equal(kept.length, 1, 'the new MDN is kept for non-repudiation');
        assert.ok(kept[0].mdn.includes(Buffer.from(mdn3.mic!.split(',')[0]!)));

        // Other content under the same Message-ID: refused.
        const other = await buildWithOpenssl(dir, {
          protection: 'signed+encrypted',
          digest: 'sha256',
          payload: Buffer.from(withControl(soi), 'latin1'),
          partner: acme,
          gatewayCert,
        });
        const r4 = await curlPost(dir, `${suite.url}/as2`, { ...headers('sha-256'), ...other.headers }, other.body);
        const mdn4 = await verifyMdnWithOpenssl(dir, r4.headers['content-type'] as string, r4.body, gatewayCert);
        assert.equal(mdn4.disposition, 'automatic-action/MDN-sent-automatically; processed/error: unexpected-processing-error');
        assert.match(r4.body.toString('latin1'), /accepted before with different content/);
      },
    );

    it('answers synchronously when the Receipt-Delivery-Option URL is not allowed by the agreement (no request to it)', async () => {
      const built = await buildWithOpenssl(dir, {
        protection: 'signed',
        digest: 'sha256',
        payload: Buffer.from(withControl(soi), 'latin1'),
        partner: acme,
        gatewayCert,
      });
      const messageId = newId('ssrf');
      const before = partnerSink.received.length;
      const res = await curlPost(
        dir,
        `${suite.url}/as2`,
        { ...as2Headers('ACME-AS2', messageId, 'sha-256', { 'Receipt-Delivery-Option': 'http://169.254.169.254/latest/meta-data' }), ...built.headers },
        built.body,
      );
      assert.equal(res.status, 200);
      const mdn = await verifyMdnWithOpenssl(dir, res.headers['content-type'] as string, res.body, gatewayCert);
      assert.equal(mdn.disposition, 'automatic-action/MDN-sent-automatically; processed');
      const row = await as2Row(messageId);
      assert.equal(row.mdn_mode, 'sync');
      assert.ok(await suite.db.knex('events').where({ message_id: row.message_id, type: 'as2.mdn-url-refused' }).first());
      assert.equal(partnerSink.received.length, before);
    });

    it('refuses unknown AS2 names and missing headers with a stable code, storing nothing', async () => {
      const unknown = await curlPost(
        dir,
        `${suite.url}/as2`,
        { ...as2Headers('NOBODY', newId('x'), 'sha-256'), 'Content-Type': 'application/edi-x12' },
        Buffer.from(soi),
      );
      assert.equal(unknown.status, 403);
      assert.equal(JSON.parse(unknown.body.toString()).error.code, 'GW_AS2_PARTNER');
      const wrongTo = await curlPost(
        dir,
        `${suite.url}/as2`,
        { ...as2Headers('ACME-AS2', newId('x'), 'sha-256'), 'AS2-To': 'SOMEONE-ELSE', 'Content-Type': 'application/edi-x12' },
        Buffer.from(soi),
      );
      assert.equal(wrongTo.status, 403);
      const noId = await curlPost(
        dir,
        `${suite.url}/as2`,
        { 'AS2-From': 'ACME-AS2', 'AS2-To': `"${OUR_ID}"`, 'Content-Type': 'application/edi-x12' },
        Buffer.from(soi),
      );
      assert.equal(noId.status, 400);
      assert.equal(JSON.parse(noId.body.toString()).error.code, 'GW_AS2_REQUEST');
      // An agreement whose partner does not list the as2 channel: the answer says what to add.
      const hansen = path.join(suite.t.partnersDir, 'hansen-textil.yaml');
      const profile = readFileSync(hansen, 'utf8');
      writeFileSync(hansen, profile.replace(/^channels: \[rest, as2\]$/m, 'channels: [rest]'));
      await suite.t.gw.reload();
      try {
        const notListed = await curlPost(
          dir,
          `${suite.url}/as2`,
          { ...as2Headers('HANSEN-AS2', newId('x'), 'sha-256'), 'Content-Type': 'application/edi-x12' },
          Buffer.from(soi),
        );
        const { error } = JSON.parse(notListed.body.toString());
        assert.deepEqual([notListed.status, error.code], [403, 'GW_AS2_PARTNER']);
        assert.match(error.message, /Partner hansen-textil may not send over AS2: its profile does not list `as2` under channels \(it lists rest\)/);
      } finally {
        writeFileSync(hansen, profile);
        await suite.t.gw.reload();
      }
      // Operations see each refusal in the audit log (no payload: nothing is stored for them).
      const audit = await suite.db.knex('audit_log').where({ action: 'as2.refused' }).orderBy('id');
      const unknownRow = audit.find((a) => a.details.as2From === 'NOBODY');
      assert.ok(unknownRow, 'the unknown AS2-From is audited');
      assert.deepEqual([unknownRow.outcome, unknownRow.actor, unknownRow.details.code], ['denied', 'as2:NOBODY', 'GW_AS2_PARTNER']);
      const wrongToRow = audit.find((a) => a.details.as2To === 'SOMEONE-ELSE');
      assert.deepEqual([wrongToRow?.actor, wrongToRow?.details.code], ['partner:acme-supply', 'GW_AS2_PARTNER']);
      assert.ok(audit.some((a) => a.details.code === 'GW_AS2_REQUEST' && a.details.as2MessageId === null));
      assert.ok(
        audit.every((a) => !JSON.stringify(a.details).includes('ISA*')),
        'no payload in the audit log',
      );
    });
  });

  describe('certificate rotation', () => {
    it('rotates our key pair with overlap: the next key decrypts at once, after activation both do and the new one signs, retiring ends the old', async () => {
      const keysDir = path.join(suite.t.dataDir, 'as2', 'keys');
      const oldCert = gatewayCert;
      const next = await addAs2Key(keysDir, OUR_ID, 730, suite.t.gw.security.keys);
      const nextCert = path.join(dir, 'gateway-next.crt');
      writeFileSync(nextCert, next.certPem);
      // A partner that already switched encrypts to the next certificate; MDNs are still signed by the old key.
      let r = await send({ protection: 'signed+encrypted', digest: 'sha256', mdn: 'sync', recipient: nextCert });
      assert.equal(r.mdn.disposition, 'automatic-action/MDN-sent-automatically; processed');
      activateAs2Key(keysDir, next.cert.fingerprint, suite.t.gw.security.keys);
      gatewayCert = nextCert;
      r = await send({ protection: 'signed+encrypted', digest: 'sha256', mdn: 'sync', recipient: oldCert });
      assert.equal(r.mdn.disposition, 'automatic-action/MDN-sent-automatically; processed', 'the previous key still decrypts');
      // The MDN is now signed by the new key: OpenSSL refuses it against the old certificate alone.
      await assert.rejects(verifyMdnWithOpenssl(dir, r.res.headers['content-type'] as string, r.res.body, oldCert));
      const previous = listAs2Keys(keysDir, suite.t.gw.security.keys).find((k) => k.state === 'previous')!;
      retireAs2Key(keysDir, previous.name, suite.t.gw.security.keys);
      await refused(
        await send({ protection: 'signed+encrypted', digest: 'sha256', mdn: 'sync', recipient: oldCert }),
        'decryption-failed',
        'GW_AS2_DECRYPTION',
      );
      assert.ok(readdirSync(path.join(keysDir, 'retired')).includes(previous.name));
    });

    it("verifies with either of the partner's certificates during its rotation, and only the new one after", async () => {
      const renewed = await opensslIdentity(dir, 'acme-as2-2027');
      await agreeAs2(
        suite,
        'acme-supply',
        `id: ACME-AS2\ncertificates: [certs/acme-as2.pem, certs/acme-as2-2027.pem]\nrequireSigned: true\nasyncMdnUrls: ["${partnerSink.url}/mdn/"]`,
        { 'acme-as2-2027.pem': renewed.cert },
      );
      for (const signer of [acme, renewed])
        assert.equal(
          (await send({ protection: 'signed', digest: 'sha256', mdn: 'sync', signer })).mdn.disposition,
          'automatic-action/MDN-sent-automatically; processed',
        );
      await agreeAs2(
        suite,
        'acme-supply',
        `id: ACME-AS2\ncertificates: [certs/acme-as2-2027.pem]\nrequireSigned: true\nasyncMdnUrls: ["${partnerSink.url}/mdn/"]`,
        {},
      );
      await refused(await send({ protection: 'signed', digest: 'sha256', mdn: 'sync', signer: acme }), 'authentication-failed', 'GW_AS2_AUTHENTICATION');
      assert.equal(
        (await send({ protection: 'signed', digest: 'sha256', mdn: 'sync', signer: renewed })).mdn.disposition,
        'automatic-action/MDN-sent-automatically; processed',
      );
    });
  });
});

const ORDER = {
  purchaseOrderNumber: 'PO-AS2-0001',
  orderDate: '2026-11-23',
  currency: 'USD',
  shipTo: { name: 'Distributor DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
  lines: [{ lineNumber: '1', vendorSku: '87787D', quantity: 24, unit: 'each', unitPrice: 1.25 }],
};

describe('AS2 door, sending: purchase orders and acknowledgments to a partner whose side is OpenSSL', function () {
  this.timeout(120_000);
  // Outages here last several attempts; the breaker (tested in delivery-retry) would pause the partner for 30 s.
  const suite = gatewaySuite({ env: { AS2_ID: OUR_ID, DELIVERY_BREAKER_FAILURES: '1000' } });
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-as2-out-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let acme: Identity;
  const partner = new HttpSink();
  let gatewayCert: string;
  /** What the partner's server does with each message: opened with OpenSSL, answered with an MDN. */
  let answer: (opened: OpenedByPartner, messageId: string) => SinkAnswer | Promise<SinkAnswer>;
  const opened: OpenedByPartner[] = [];

  const agreement = (send: string) =>
    agreeAs2(suite, 'acme-supply', `id: ACME-AS2\ncertificates: [certs/acme-as2.pem]\nrequireSigned: true\nsend: { url: "${partner.url}/as2", ${send} }`, {
      'acme-as2.pem': acme.cert,
    });
  const goodMdn = async (o: OpenedByPartner, messageId: string, overrides: Partial<Parameters<typeof opensslMdn>[2]> = {}) => {
    const mdn = await opensslMdn(dir, acme, {
      from: 'ACME-AS2',
      to: OUR_ID,
      originalMessageId: messageId,
      mic: `${await opensslMic(dir, o.signedEntity, 'sha256')}, sha-256`,
      ...overrides,
    });
    return { status: 200, headers: mdn.headers, body: mdn.body };
  };

  before(async () => {
    acme = await opensslIdentity(dir, 'acme-as2');
    await partner.start();
    partner.respond = async (r) => {
      const o = await openAsPartner(dir, acme, gatewayCert, r.headers, r.body);
      opened.push(o);
      return answer(o, String(r.headers['message-id']));
    };
    await agreement('sign: sha256, encrypt: aes256-cbc, mdn: sync');
    gatewayCert = gatewayCerts(suite, dir).active as string;
  });
  after(() => partner.stop());

  async function order(n: string) {
    const res = await fetch(`${suite.url}/v1/erp/partners/acme-supply/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...ORDER, purchaseOrderNumber: n }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { messageId: string }).messageId;
  }
  const erpStatus = async (id: string) =>
    (await (await fetch(`${suite.url}/v1/erp/messages/${id}`, { headers: { authorization: `Bearer ${ERP.key}` } })).json()) as Record<string, any>;
  /** The outbound AS2 record, with its outbox delivery's state, attempts and last error. */
  const sentRow = (id: string) =>
    suite.db
      .knex('as2_messages as a')
      .join('deliveries as d', 'd.idempotency_key', suite.db.knex.raw(`'as2:' || a.message_id`))
      .select('a.*', 'd.state as delivery_state', 'd.attempts', 'd.last_error')
      .where({ 'a.message_id': id, 'a.direction': 'outbound' })
      .first();
  const settled = (id: string) =>
    waitFor(
      'the MDN outcome',
      () => sentRow(id),
      (r) => Boolean(r && ['delivered', 'dead'].includes(r.delivery_state)),
    );

  it('sends an 850 signed and encrypted; OpenSSL decrypts and verifies it, and the signed MDN with the right MIC makes it processed', async () => {
    answer = (o, id) => goodMdn(o, id);
    const id = await order('PO-AS2-0001');
    const row = await settled(id);
    assert.equal(row.status, 'processed', row.last_error);
    const got = opened.at(-1)!;
    assert.equal(got.contentType, 'application/edi-x12');
    assert.match(got.payload.toString('latin1'), /^ISA\*.*\*PO-AS2-0001\*/ms);
    assert.match(got.payload.toString('latin1'), /BEG\*00\*\w+\*PO-AS2-0001/);
    const s = await erpStatus(id);
    assert.equal(s.state, 'collected');
    assert.equal(s.as2.status, 'processed');
    assert.deepEqual(s.as2.layers, ['encrypted', 'signed'], 'what was applied, outside in');
    assert.equal(s.as2.mic, `${await opensslMic(dir, got.signedEntity, 'sha256')}, sha-256`);
    assert.ok(s.timeline.some((e: { type: string }) => e.type === 'as2.sent'));
    assert.ok(
      s.timeline.some((e: { type: string; detail: string }) => e.type === 'as2.mdn-processed' && /MIC .* matches; MDN signature verified/.test(e.detail)),
    );
  });

  it('marks a message whose MDN carries another MIC as mic-invalid, and one without a MIC as failed', async () => {
    answer = (o, id) => goodMdn(o, id, { mic: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, sha-256' });
    const wrong = await order('PO-AS2-0002');
    assert.equal((await settled(wrong)).status, 'mic-invalid');
    assert.ok((await erpStatus(wrong)).timeline.some((e: { type: string; code?: string }) => e.type === 'as2.mdn-mic-invalid' && e.code === 'GW_AS2_MDN'));
    answer = (o, id) => goodMdn(o, id, { mic: undefined });
    const missing = await order('PO-AS2-0003');
    const row = await settled(missing);
    assert.equal(row.status, 'failed');
    assert.match(row.last_error, /no Received-Content-MIC/);
    assert.equal((await erpStatus(missing)).state, 'ready', 'not counted as received by the partner');
  });

  it('fails a negative MDN, an unsigned MDN where a signed one was asked for, and one signed by someone else', async () => {
    answer = (o, id) => goodMdn(o, id, { disposition: 'automatic-action/MDN-sent-automatically; processed/error: decryption-failed' });
    assert.match((await settled(await order('PO-AS2-0004'))).last_error, /decryption-failed/);
    answer = (o, id) => goodMdn(o, id, { sign: false });
    assert.match((await settled(await order('PO-AS2-0005'))).last_error, /not signed/);
    const stranger = await opensslIdentity(dir, 'stranger');
    answer = async (o, id) => {
      const mdn = await opensslMdn(dir, stranger, {
        from: 'ACME-AS2',
        to: OUR_ID,
        originalMessageId: id,
        mic: `${await opensslMic(dir, o.signedEntity, 'sha256')}, sha-256`,
      });
      return { status: 200, headers: mdn.headers, body: mdn.body };
    };
    assert.match((await settled(await order('PO-AS2-0006'))).last_error, /signature does not verify/);
  });

  it('retries after the partner answers 503, with the same Message-ID, then completes', async () => {
    let calls = 0;
    const ids: string[] = [];
    answer = (o, id) => {
      ids.push(id);
      return ++calls === 1 ? { status: 503, body: Buffer.from('busy') } : goodMdn(o, id);
    };
    const id = await order('PO-AS2-0007');
    assert.equal((await settled(id)).status, 'processed');
    assert.equal(calls, 2);
    assert.equal(ids[0], ids[1], 'a retry repeats the Message-ID');
    assert.ok((await erpStatus(id)).timeline.some((e: { type: string; code?: string }) => e.type === 'delivery.failed' && e.code === 'GW_AS2_SEND'));
  });

  /** The partner's server down (503) until `up`; every Message-ID it was sent, in order. */
  function outage() {
    const state = { up: false, ids: [] as string[] };
    answer = (o, id) => {
      state.ids.push(id);
      return state.up ? goodMdn(o, id) : { status: 503, body: Buffer.from('down for maintenance') };
    };
    return state;
  }

  it('keeps an AS2 send through a partner outage and a gateway restart, under one Message-ID, and completes it', async () => {
    const partnerSide = outage();
    const id = await order('PO-AS2-0011');
    await waitFor(
      'a failed attempt',
      () => sentRow(id),
      (r) => r?.attempts >= 1 && r.delivery_state === 'pending',
    );
    await suite.restart();
    const before = partnerSide.ids.length;
    partnerSide.up = true;
    const row = await settled(id);
    assert.equal(row.status, 'processed', row.last_error);
    assert.ok(partnerSide.ids.length > before && before >= 1, `attempts before the restart: ${before}, in all: ${partnerSide.ids.length}`);
    assert.equal(new Set(partnerSide.ids).size, 1, 'every attempt, before and after the restart, carries the same Message-ID');
    assert.equal(row.as2_message_id, partnerSide.ids[0]);
    const s = await erpStatus(id);
    assert.equal(s.state, 'collected');
    assert.ok(s.timeline.some((e: { type: string; code?: string }) => e.type === 'delivery.failed' && e.code === 'GW_AS2_SEND'));
  });

  it('sends an AS2 message to dead letter after as2.send.maxAttempts; a replay sends it again under the same Message-ID', async () => {
    await agreement('sign: sha256, encrypt: aes256-cbc, mdn: sync, maxAttempts: 2');
    try {
      const partnerSide = outage();
      const id = await order('PO-AS2-0012');
      const dead = await settled(id);
      assert.equal(dead.delivery_state, 'dead');
      assert.equal(dead.attempts, 2);
      assert.equal(partnerSide.ids.length, 2, 'no attempt after the last one');
      const s = await erpStatus(id);
      assert.equal(s.state, 'ready', 'still in the mailbox: the partner never got it');
      const last = s.timeline.find((e: { type: string }) => e.type === 'delivery.dead');
      assert.equal(last?.code, 'GW_AS2_SEND');
      assert.match(last.detail, /attempt 2 of 2 .*attempts exhausted/);
      partnerSide.up = true;
      const replay = await runCli(['replay', id], { env: { DATABASE_URL: suite.db.url } });
      assert.equal(replay.status, 0, replay.stderr);
      const done = await waitFor(
        'the replayed send',
        () => sentRow(id),
        (r) => r?.delivery_state === 'delivered',
      );
      assert.equal(done.status, 'processed');
      assert.equal(new Set(partnerSide.ids).size, 1, 'the replay repeats the Message-ID');
      assert.equal((await erpStatus(id)).state, 'collected');
    } finally {
      await agreement('sign: sha256, encrypt: aes256-cbc, mdn: sync');
    }
  });

  it('sends again, under the same Message-ID, when the asynchronous MDN does not come within as2.send.mdnTimeoutSeconds', async () => {
    await agreement('sign: sha256, encrypt: aes256-cbc, mdn: async, mdnTimeoutSeconds: 1');
    let id: string | undefined;
    try {
      const ids: string[] = [];
      answer = (_o, messageId) => {
        ids.push(messageId);
        return { status: 200, body: Buffer.from('thanks; the MDN follows') };
      };
      id = await order('PO-AS2-0013');
      await waitFor(
        'a second post after the MDN wait',
        async () => ids.length,
        (n) => n >= 2,
        15_000,
      );
      assert.equal(new Set(ids).size, 1, 'the repeat carries the same Message-ID');
      const s = await erpStatus(id);
      assert.ok(s.timeline.filter((e: { type: string }) => e.type === 'delivery.waiting').length >= 1);
      assert.equal(s.state, 'ready', 'not collected without an MDN');
    } finally {
      // The next repeat is answered at once (a synchronous MDN), so no send of this test outlives it.
      answer = (o, messageId) => goodMdn(o, messageId);
      await agreement('sign: sha256, encrypt: aes256-cbc, mdn: sync');
      if (id) await settled(id);
    }
  });

  it('counts a retry answered "processed/warning: duplicate-document" without a MIC as processed (the first attempt timed out)', async () => {
    await agreement('sign: sha256, encrypt: aes256-cbc, mdn: sync, timeoutSeconds: 5');
    const calls: string[] = [];
    let duplicateMdn: Promise<SinkAnswer> | undefined;
    let repeatArrived: () => void = () => undefined;
    const repeated = new Promise<void>((resolve) => (repeatArrived = resolve));
    const normal = partner.respond;
    partner.respond = async (r) => {
      const id = String(r.headers['message-id']);
      calls.push(id);
      if (calls.length === 1) {
        // The partner processes the message but answers only after our timeout (it answers once the
        // repeat has come); its answer to the repeat, built and signed by OpenSSL, is ready by then.
        duplicateMdn = opensslMdn(dir, acme, {
          from: 'ACME-AS2',
          to: OUR_ID,
          originalMessageId: id,
          disposition: 'automatic-action/MDN-sent-automatically; processed/Warning: duplicate-document',
        }).then((m) => ({ status: 200, headers: m.headers, body: m.body }));
        await duplicateMdn;
        await openAsPartner(dir, acme, gatewayCert, r.headers, r.body);
        await repeated;
        return { status: 200, body: Buffer.from('too late') };
      }
      repeatArrived();
      return duplicateMdn!;
    };
    try {
      const id = await order('PO-AS2-0010');
      const row = await settled(id);
      assert.equal(row.status, 'processed', row.last_error);
      assert.equal(calls.length, 2);
      assert.equal(calls[0], calls[1], 'the retry repeats the Message-ID');
      const s = await erpStatus(id);
      assert.equal(s.state, 'collected');
      assert.ok(s.timeline.some((e: { type: string; detail: string }) => e.type === 'as2.mdn-processed' && /duplicate-document/.test(e.detail)));
    } finally {
      partner.respond = normal;
      await agreement('sign: sha256, encrypt: aes256-cbc, mdn: sync');
    }
  });

  for (const oaepHash of ['default', 'sha1', 'sha256'] as const)
    it(`sends RSA-OAEP key transport with ${oaepHash === 'default' ? 'the default hash (SHA-1)' : oaepHash}; openssl cms -decrypt opens it`, async () => {
      await agreement(`sign: sha256, encrypt: aes256-cbc, keyTransport: rsa-oaep${oaepHash === 'default' ? '' : `, oaepHash: ${oaepHash}`}, mdn: sync`);
      answer = (o, id) => goodMdn(o, id);
      const before = partner.received.length;
      const id = await order(`PO-AS2-OAEP-${oaepHash}`);
      assert.equal((await settled(id)).status, 'processed');
      const sent = partner.received.slice(before).find((r) => /enveloped-data/.test(String(r.headers['content-type'])))!;
      const der = path.join(dir, `oaep-${oaepHash}.der`);
      writeFileSync(der, sent.body);
      const printed = (await openssl(['cms', '-cmsout', '-print', '-inform', 'DER', '-in', der])).toString();
      assert.match(printed, /rsaesOaep/);
      // SHA-1 is the RFC 4055 default: its parameters are an empty SEQUENCE.
      if (oaepHash === 'sha256') assert.match(printed, /OBJECT\s+:sha256[\s\S]*:mgf1[\s\S]*:sha256/);
      else assert.doesNotMatch(printed, /sha256|mgf1/);
      assert.equal((await erpStatus(id)).as2.status, 'processed');
    });

  it('asks for an async MDN, matches the one the partner posts later (built by OpenSSL, posted with curl)', async () => {
    await agreement('sign: sha1, encrypt: 3des, keyTransport: rsa-oaep, compress: true, mdn: async');
    let seen: { o: OpenedByPartner; id: string } | undefined;
    answer = (o, id) => {
      seen = { o, id };
      return { status: 200, body: Buffer.from('thanks') };
    };
    const id = await order('PO-AS2-0008');
    await waitFor('the message to reach the partner', async () => seen, Boolean);
    await waitFor(
      'the message to wait for its MDN',
      () => sentRow(id),
      (r) => r?.status === 'pending',
    );
    const awaited = () => gauge(suite, 'gateway_as2_mdns_pending', 'direction="awaited"');
    await waitFor('the awaited MDN on the gauge', awaited, (n) => n === 1);
    const sent = partner.received.at(-1)!;
    assert.equal(sent.headers['receipt-delivery-option'], `${suite.url}/as2`);
    assert.match(String(sent.headers['disposition-notification-options']), /signed-receipt-micalg=optional, sha1/);
    assert.match(seen!.o.payload.toString('latin1'), /PO-AS2-0008/, 'compressed, signed and encrypted content opened by the partner');
    const mdn = await opensslMdn(dir, acme, {
      from: 'ACME-AS2',
      to: OUR_ID,
      originalMessageId: seen!.id,
      mic: `${await opensslMic(dir, seen!.o.signedEntity, 'sha1')}, sha1`,
    });
    const res = await curlPost(dir, `${suite.url}/as2`, mdn.headers, mdn.body);
    assert.equal(res.status, 200, res.body.toString());
    assert.equal((await settled(id)).status, 'processed');
    assert.equal(await awaited(), 0);
    const stray = await opensslMdn(dir, acme, { from: 'ACME-AS2', to: OUR_ID, originalMessageId: '<nothing@gateway>', mic: 'x, sha1' });
    assert.equal((await curlPost(dir, `${suite.url}/as2`, stray.headers, stray.body)).status, 502);
  });

  it('takes an 856 over AS2 to the ERP, answers with the MDN, and sends the 997 over AS2', async () => {
    await agreement('sign: sha256, encrypt: aes128-cbc, mdn: sync');
    answer = (o, id) => goodMdn(o, id);
    const before = opened.length;
    const built = await buildWithOpenssl(dir, {
      protection: 'signed+encrypted',
      digest: 'sha256',
      payload: Buffer.from(withControl(soi), 'latin1'),
      partner: acme,
      gatewayCert,
    });
    const messageId = newId('856');
    const res = await curlPost(dir, `${suite.url}/as2`, { ...as2Headers('ACME-AS2', messageId, 'sha-256'), ...built.headers }, built.body);
    assert.equal(
      (await verifyMdnWithOpenssl(dir, res.headers['content-type'] as string, res.body, gatewayCert)).disposition,
      'automatic-action/MDN-sent-automatically; processed',
    );
    const inbound = await suite.db.knex('as2_messages').where({ as2_message_id: messageId }).first();
    await waitFor(
      'delivery',
      () => suite.db.knex('messages').first('state').where('id', inbound.message_id),
      (m) => m.state === 'delivered',
    );
    assert.ok(suite.erp.requests.some((r) => r.body.messageId === inbound.message_id && r.body.type === 'asn'));
    const ack = await waitFor('the 997 over AS2', async () => opened.slice(before).find((o) => /\*997\*/.test(o.payload.toString('latin1'))), Boolean);
    assert.match(ack!.payload.toString('latin1'), /AK1\*SH\*/);
    const ackMsg = await suite.db.knex('messages').where({ related_message_id: inbound.message_id, direction: 'outbound' }).first();
    assert.equal((await settled(ackMsg.id)).status, 'processed');
  });
});

/** A series of the gateway's metrics as a scrape would read it (0 when absent). */
async function gauge(suite: GatewaySuite, name: string, labels: string): Promise<number> {
  const { text } = await suite.t.gw.metrics.render();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}
