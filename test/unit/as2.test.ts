import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certFromPem, selfSignedCertificate, type Cert, type KeyPair } from '../../src/formats/as2/certificates.js';
import { compress, type CmsError, decompress } from '../../src/formats/as2/cms.js';
import { decryptEnveloped, decryptKeyPkcs1, encryptEnveloped } from '../../src/formats/as2/cms-enveloped.js';
import { asyncUrlAllowed } from '../../src/channels/as2/inbound.js';
import { micOf, unwrap } from '../../src/channels/as2/unwrap.js';
import type { As2KeyRing } from '../../src/channels/as2/keys.js';
import { parseMdn, parseMdnOptions } from '../../src/formats/as2/mdn.js';
import { judgeMdn } from '../../src/formats/as2/message.js';
import { parseEntity, splitMultipart } from '../../src/formats/as2/mime.js';
import { CORPUS, FIXTURES, requireCorpus } from '../helpers/corpus.js';

async function pair(): Promise<KeyPair> {
  const kp = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { key: kp.privateKey, cert: certFromPem(await selfSignedCertificate(kp, 'unit', 1)) };
}

/** The same enveloped data with another encrypted content-encryption key. */
function withEncryptedKey(der: Buffer, encryptedKey: Buffer): Buffer {
  const ci = pkijs.ContentInfo.fromBER(der);
  const ed = new pkijs.EnvelopedData({ schema: ci.content });
  (ed.recipientInfos[0]!.value as pkijs.KeyTransRecipientInfo).encryptedKey = new asn1js.OctetString({ valueHex: encryptedKey });
  return Buffer.from(new pkijs.ContentInfo({ contentType: ci.contentType, content: ed.toSchema() }).toSchema().toBER());
}

/** The cert a captured signature carries: stands in for the partner certificate on file. */
function embeddedCert(signatureDer: Buffer): Cert {
  const sd = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(signatureDer).content });
  return certFromPem(Buffer.from((sd.certificates![0] as pkijs.Certificate).toSchema().toBER()));
}

const ring = (p: KeyPair) => ({ decrypting: () => [p], active: () => p }) as unknown as As2KeyRing;

describe('AS2: CMS, MIME and MDN pieces', () => {
  let ours: KeyPair;
  before(async () => {
    ours = await pair();
  });

  describe('RSA PKCS#1 v1.5 key transport with implicit rejection', () => {
    it('returns the key from a well-padded block', () => {
      const cek = randomBytes(32);
      const ct = publicEncrypt({ key: ours.cert.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, cek);
      assert.ok(decryptKeyPkcs1(ours.key, ct, 32).equals(cek));
    });

    it('answers a bad padding or a wrong length with a key derived from the ciphertext, never an error', () => {
      const garbage = publicEncrypt(
        { key: ours.cert.x509.publicKey, padding: constants.RSA_NO_PADDING },
        Buffer.concat([Buffer.from([0, 1]), randomBytes(254)]),
      );
      const a = decryptKeyPkcs1(ours.key, garbage, 32);
      assert.equal(a.length, 32);
      assert.ok(decryptKeyPkcs1(ours.key, garbage, 32).equals(a), 'deterministic for the same ciphertext');
      const other = publicEncrypt({ key: ours.cert.x509.publicKey, padding: constants.RSA_NO_PADDING }, Buffer.concat([Buffer.from([0, 1]), randomBytes(254)]));
      assert.ok(!decryptKeyPkcs1(ours.key, other, 32).equals(a), 'different for another ciphertext');
      const short = publicEncrypt({ key: ours.cert.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(16));
      assert.equal(decryptKeyPkcs1(ours.key, short, 32).length, 32, 'a 16-byte key where 32 are expected is not returned');
    });

    it('gives the same answer for a bad padding as for a wrong key (no padding oracle)', () => {
      const FAILED = 'decryption-failed: the message could not be decrypted with our private key';
      // A wrong content key (random, or the stand-in a bad padding gets) makes CBC padding valid by
      // chance about once in 256 tries: the "content" is then noise. Either way nothing tells the two apart.
      const outcome = (m: Buffer) => {
        try {
          const content = decryptEnveloped(m, [ours]).content;
          assert.ok(!content.includes('secret'), 'a wrong key never yields the content');
          return 'noise';
        } catch (err) {
          return `${(err as CmsError).failure}: ${(err as Error).message}`;
        }
      };
      const tries = Array.from({ length: 3 }, () => {
        const der = encryptEnveloped(Buffer.from('Content-Type: text/plain\r\n\r\nsecret'), ours.cert, 'aes256-cbc', 'rsa-pkcs1');
        assert.equal(decryptEnveloped(der, [ours]).content.toString().endsWith('secret'), true);
        const badPadding = withEncryptedKey(
          der,
          publicEncrypt({ key: ours.cert.x509.publicKey, padding: constants.RSA_NO_PADDING }, randomBytes(256).fill(7, 0, 1)),
        );
        const wrongKey = withEncryptedKey(der, publicEncrypt({ key: ours.cert.x509.publicKey, padding: constants.RSA_PKCS1_PADDING }, randomBytes(32)));
        return [outcome(badPadding), outcome(wrongKey)];
      });
      for (const o of tries.flat()) assert.ok([FAILED, 'noise'].includes(o), o);
      assert.ok(tries.some(([bad]) => bad === FAILED) && tries.some(([, wrong]) => wrong === FAILED), JSON.stringify(tries));
    });
  });

  it('encrypts RSA-OAEP key transport with SHA-1 (the default) or SHA-256, and opens both', () => {
    for (const hash of [undefined, 'sha1', 'sha256'] as const) {
      const der = encryptEnveloped(Buffer.from('Content-Type: text/plain\r\n\r\nsecret'), ours.cert, 'aes128-cbc', 'rsa-oaep', hash);
      const d = decryptEnveloped(der, [ours]);
      assert.equal(d.keyTransport, 'rsa-oaep');
      assert.ok(d.content.toString().endsWith('secret'), String(hash));
    }
  });

  describe('MDNs with a warning (RFC 3798 processed/warning)', () => {
    const mdnWith = (disposition: string, mic?: string) =>
      parseMdn(
        parseEntity(
          Buffer.from(
            [
              'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"',
              '',
              '--b',
              'Content-Type: text/plain',
              '',
              'seen before',
              '--b',
              'Content-Type: message/disposition-notification',
              '',
              'Original-Message-ID: <m@gw>',
              ...(mic ? [`Received-Content-MIC: ${mic}`] : []),
              `Disposition: ${disposition}`,
              '',
              '--b--',
              '',
            ].join('\r\n'),
          ),
        ),
        [],
      );
    const expected = { messageId: '<m@gw>', mic: 'bWlj', micAlg: 'sha-256', signedMdn: false };

    it('reads a warning apart from a failure', () => {
      const warned = mdnWith('automatic-action/MDN-sent-automatically; processed/Warning: duplicate-document');
      assert.deepEqual([warned.warning, warned.failure], ['duplicate-document', undefined]);
      const failed = mdnWith('automatic-action/MDN-sent-automatically; processed/error: decryption-failed');
      assert.deepEqual([failed.warning, failed.failure], [undefined, 'decryption-failed']);
      assert.equal(mdnWith('automatic-action/MDN-sent-automatically; failed/Failure: unsupported format').failure, 'unsupported format');
      assert.equal(mdnWith('automatic-action/MDN-sent-automatically; processed/failure: sender-equals-receiver').failure, 'sender-equals-receiver');
    });

    it('counts duplicate-document without a MIC as processed on a retry only; other warnings need the MIC', () => {
      const dup = mdnWith('automatic-action/MDN-sent-automatically; processed/Warning: duplicate-document');
      assert.equal(judgeMdn(dup, { ...expected, retried: true }).status, 'processed');
      assert.equal(judgeMdn(dup, { ...expected, retried: false }).status, 'failed', 'a first attempt cannot be a duplicate');
      assert.equal(
        judgeMdn(mdnWith('automatic-action/MDN-sent-automatically; processed/warning: something-else'), { ...expected, retried: true }).status,
        'failed',
      );
      assert.equal(
        judgeMdn(mdnWith('automatic-action/MDN-sent-automatically; processed/warning: duplicate-document', 'bWlj, sha-256'), { ...expected, retried: true })
          .status,
        'processed',
      );
      assert.equal(
        judgeMdn(mdnWith('automatic-action/MDN-sent-automatically; processed/warning: duplicate-document', 'b3RoZXI=, sha-256'), { ...expected, retried: true })
          .status,
        'mic-invalid',
      );
      assert.equal(
        judgeMdn(mdnWith('automatic-action/MDN-sent-automatically; processed/error: duplicate-document'), { ...expected, retried: true }).status,
        'failed',
      );
    });
  });

  it('refuses compressed content that inflates past the limit', () => {
    const bomb = compress(Buffer.alloc(1_000_000));
    assert.ok(bomb.length < 5_000);
    assert.throws(
      () => decompress(bomb, 100_000),
      (e: CmsError) => e.failure === 'unexpected-processing-error' && /beyond the limit of 100000 bytes/.test(e.message),
    );
    assert.equal(decompress(bomb, 1_000_000).length, 1_000_000);
  });

  it('reads Disposition-Notification-Options in the spellings senders use', () => {
    assert.deepEqual(parseMdnOptions('signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256, sha1'), {
      signed: true,
      micalg: 'sha256',
    });
    assert.deepEqual(parseMdnOptions('signed-receipt-protocol=required,pkcs7-signature;signed-receipt-micalg=required,sha1'), { signed: true, micalg: 'sha1' });
    assert.deepEqual(parseMdnOptions('signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, md5, SHA256'), {
      signed: true,
      micalg: 'sha256',
    });
    assert.deepEqual(parseMdnOptions(undefined), { signed: false, micalg: 'sha256' });
  });

  it('splits multipart bodies exactly, with CRLF or bare LF line ends', () => {
    for (const eol of ['\r\n', '\n']) {
      const body = Buffer.from(['preamble', '--b', 'Content-Type: text/plain', '', 'one', '--b', '', 'two', 'lines', '--b--', ''].join(eol));
      const parts = splitMultipart(body, 'b');
      assert.deepEqual(
        parts.map((p) => p.toString()),
        [`Content-Type: text/plain${eol}${eol}one`, `${eol}two${eol}lines`],
      );
    }
    assert.throws(() => splitMultipart(Buffer.from('--b\r\nx\r\n'), 'b'), /no closing boundary/);
  });

  it('allows async MDN URLs only as the agreement lists them', () => {
    const allowed = ['https://as2.acme.example/mdn/', 'http://10.0.0.5:8080/as2/receipt'];
    assert.ok(asyncUrlAllowed('https://as2.acme.example/mdn/in', allowed));
    assert.ok(asyncUrlAllowed('http://10.0.0.5:8080/as2/receipt', allowed));
    for (const bad of [
      'http://as2.acme.example/mdn/in',
      'https://as2.acme.example.evil.test/mdn/',
      'https://as2.acme.example@169.254.169.254/mdn/',
      'http://10.0.0.5:8080/as2/receipt/x',
      'file:///etc/passwd',
      'not a url',
    ])
      assert.ok(!asyncUrlAllowed(bad, allowed), bad);
  });

  it('verifies the signed X12 850 request captured from phax/as2-lib and computes its MIC (sha1)', () => {
    const text = readFileSync(path.join(FIXTURES, 'as2', 'as2-request_signed_x12-850-payload_as2-lib.txt'));
    const entity = parseEntity(text.subarray(text.indexOf('\n') + 1));
    const [, sigPart] = splitMultipart(entity.body, 'boundaryEHSgAQ==');
    const cert = embeddedCert(Buffer.from(parseEntity(sigPart!).body.toString('latin1'), 'base64'));
    const u = unwrap(entity, [cert], ring(ours), 1_000_000);
    assert.deepEqual(u.layers, ['signed']);
    assert.equal(u.signDigest, 'sha1');
    assert.match(u.payload.body.toString('latin1'), /^ISA\*00\*ssssssssss/);
    assert.equal(micOf(u, 'sha1').value.length, 28);
    // Anyone else's certificate: authentication-failed.
    assert.throws(
      () => unwrap(entity, [ours.cert], ring(ours), 1_000_000),
      (e: CmsError) => e.failure === 'authentication-failed',
    );
  });

  describe('captures from other AS2 stacks (GPL corpus, read in place)', () => {
    before(function () {
      requireCorpus(this);
    });

    it('reads and verifies a signed MDN from Sterling B2B Integrator (binary DER signature)', () => {
      const entity = parseEntity(readFileSync(path.join(CORPUS, 'as2', 'mdn_signed_sterling_pyas2lib.mdn')));
      const [, sigPart] = splitMultipart(entity.body, '_=33811828372951114Sterling33811828372951114MOKO');
      const cert = embeddedCert(parseEntity(sigPart!).body);
      // Checked as of the day it was sent (January 2018): its certificate has expired since.
      assert.throws(() => parseMdn(entity, [cert]), /outside its validity period/);
      const mdn = parseMdn(entity, [cert], new Date('2018-01-26T12:00:00Z'));
      assert.equal(mdn.signed, true);
      assert.equal(mdn.originalMessageId, '<151694007918.24690.7052273208458909245@ip-172-31-14-209.ec2.internal>');
      assert.deepEqual(mdn.mic, { value: 'wNh76aEicfBurg/et2wio4zk/2I=', digest: 'sha1' });
      assert.equal(mdn.failure, undefined);
      assert.throws(
        () => parseMdn(entity, [ours.cert], new Date('2018-01-26T12:00:00Z')),
        (e: CmsError) => e.failure === 'authentication-failed',
      );
    });

    it('reads an unsigned negative MDN from mendelson', () => {
      const mdn = parseMdn(parseEntity(readFileSync(path.join(CORPUS, 'as2', 'mdn_unsigned_error_mendelson_pyas2lib.mdn'))), []);
      assert.equal(mdn.signed, false);
      assert.ok(mdn.failure, mdn.disposition);
    });

    it('verifies a signed message from mendelson AS2', () => {
      const entity = parseEntity(readFileSync(path.join(CORPUS, 'as2', 'as2-message_signed_mendelson_pyas2lib.as2')));
      const ct = /boundary="?([^";\r\n]+)/.exec(entity.headers.get('content-type') ?? '')?.[1] ?? '';
      const [, sigPart] = splitMultipart(entity.body, ct);
      const sig = parseEntity(sigPart!);
      const cert = embeddedCert(
        /base64/i.test(sig.headers.get('content-transfer-encoding') ?? '') ? Buffer.from(sig.body.toString('latin1'), 'base64') : sig.body,
      );
      const u = unwrap(entity, [cert], ring(ours), 1_000_000);
      assert.deepEqual(u.layers, ['signed']);
      assert.match(u.payload.body.toString('latin1'), /UNB|UNH/);
    });
  });
});
