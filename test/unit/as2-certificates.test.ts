import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, type KeyObject, webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { PartnerCertificates } from '../../src/channels/as2/partner-certificates.js';
import { type Cert, certFromPem, type KeyPair, selfSignedCertificate } from '../../src/formats/as2/certificates.js';
import { CmsError, signDetached, verifyDetached } from '../../src/formats/as2/cms.js';
import { decryptEnveloped, encryptEnveloped } from '../../src/formats/as2/cms-enveloped.js';
import { decodeBody, parseContentType, parseEntity, splitMultipart } from '../../src/formats/as2/mime.js';
import { FIXTURES } from '../helpers/corpus.js';

/**
 * Certificates are read once into what every message needs (issuer and serial number, subject key
 * identifier); these tests hold that reading to pkijs's, and check that identity is always the
 * certificate itself: a rotated certificate is used at once, and two certificates that share a
 * name and a serial number are never taken for one another.
 */

type RsaPair = { privateKey: KeyObject; publicKey: KeyObject };

/** A self-signed certificate with a chosen name (as UTF8String or PrintableString) and serial number. */
async function certificate(kp: RsaPair, commonName: string, serial: number, printable = false): Promise<Buffer> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ value: serial });
  const value = printable ? new asn1js.PrintableString({ value: commonName }) : new asn1js.Utf8String({ value: commonName });
  const name = [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value })];
  cert.issuer.typesAndValues.push(...name);
  cert.subject.typesAndValues.push(...name);
  cert.notBefore.value = new Date(Date.now() - 60_000);
  cert.notAfter.value = new Date(Date.now() + 86_400_000);
  cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(kp.publicKey.export({ format: 'der', type: 'spki' }));
  const pkcs8 = kp.privateKey.export({ format: 'der', type: 'pkcs8' });
  const key = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  await cert.sign(key, 'SHA-256');
  return Buffer.from(cert.toSchema().toBER());
}

const newKeys = (): RsaPair => generateKeyPairSync('rsa', { modulusLength: 2048 });
const pemOf = (der: Buffer) => `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;

async function pair(name: string): Promise<KeyPair> {
  const kp = newKeys();
  return { key: kp.privateKey, cert: certFromPem(await selfSignedCertificate(kp, name, 1)) };
}

/** Two key pairs whose certificates carry the same issuer name and serial number. */
async function twins(): Promise<[KeyPair, KeyPair]> {
  const a = newKeys();
  const b = newKeys();
  return [
    { key: a.privateKey, cert: certFromPem(await certificate(a, 'twin', 7)) },
    { key: b.privateKey, cert: certFromPem(await certificate(b, 'twin', 7)) },
  ];
}

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof CmsError, String(err));
    return err.failure;
  }
  return 'none';
};

describe('AS2: certificates read once (issuer, serial number, key identifier) and told apart by what they are', () => {
  it('reads the issuer, the serial number and the subject key identifier as pkijs reads them', async () => {
    const ours = await pair('unit');
    const lib = new pkijs.SignedData({
      schema: pkijs.ContentInfo.fromBER(capturedSignature()).content,
    }).certificates![0] as pkijs.Certificate;
    for (const [cert, pki] of [
      [ours.cert, pkijs.Certificate.fromBER(ours.cert.x509.raw)],
      [certFromPem(Buffer.from(lib.toSchema().toBER())), lib],
    ] as [Cert, pkijs.Certificate][]) {
      assert.ok(cert.issuer.equals(Buffer.from(pki.issuer.toSchema().toBER())));
      assert.ok(cert.serialNumber.equals(Buffer.from(pki.serialNumber.valueBlock.valueHexView)));
      const ski = pki.extensions?.find((e) => e.extnID === '2.5.29.14')?.parsedValue as asn1js.OctetString | undefined;
      assert.deepEqual(cert.subjectKeyId, ski && Buffer.from(ski.valueBlock.valueHexView));
    }
    assert.ok(ours.cert.subjectKeyId, 'our certificates carry a subject key identifier');
  });

  it("signs so that pkijs verifies the signature with the certificate it carries, which is the signing pair's", async () => {
    const content = Buffer.from('ISA*00*...~\r\n');
    for (const signer of [await pair('before rotation'), await pair('after rotation')]) {
      const der = signDetached(content, signer, 'sha256');
      const sd = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(der).content });
      assert.ok(Buffer.from((sd.certificates![0] as pkijs.Certificate).toSchema().toBER()).equals(signer.cert.x509.raw));
      const sid = sd.signerInfos[0]!.sid as pkijs.IssuerAndSerialNumber;
      assert.ok(Buffer.from(sid.serialNumber.valueBlock.valueHexView).equals(signer.cert.serialNumber));
      const digest = sd.signerInfos[0]!.signedAttrs!.attributes.find((a) => a.type === '1.2.840.113549.1.9.4')!.values[0] as asn1js.OctetString;
      assert.ok(Buffer.from(digest.valueBlock.valueHexView).equals(createHash('sha256').update(content).digest()));
      const checked = await sd.verify({ signer: 0, data: new Uint8Array(content).buffer, checkChain: false, extendedMode: true });
      assert.equal(checked.signatureVerified, true);
      assert.equal(verifyDetached(content, der, [signer.cert]).signer, signer.cert);
    }
  });

  it('never takes one certificate for another that shares its issuer name and serial number', async () => {
    const [a, b] = await twins();
    assert.notEqual(a.cert.fingerprint, b.cert.fingerprint);
    const content = Buffer.from('payload');
    const byB = signDetached(content, b, 'sha256');
    assert.equal(
      failure(() => verifyDetached(content, byB, [a.cert])),
      'authentication-failed',
      'a signature by B does not verify as A',
    );
    assert.equal(verifyDetached(content, byB, [a.cert, b.cert]).signer, b.cert);
    // Enveloped data names its recipient by issuer and serial number only: for A it is B's message,
    // but A's key does not open it, and the answer is the one a wrong key gets.
    const forB = encryptEnveloped(content, b.cert, 'aes256-cbc', 'rsa-pkcs1');
    assert.equal(
      failure(() => decryptEnveloped(forB, [a])),
      'decryption-failed',
    );
    assert.equal(decryptEnveloped(forB, [b]).content.toString(), 'payload');
  });

  it('opens a message naming our certificate by subject key identifier, or by our issuer written in another string type', async () => {
    const kp = newKeys();
    const ours: KeyPair = { key: kp.privateKey, cert: certFromPem(await certificate(kp, 'gateway', 9)) };
    const other: KeyPair = { key: kp.privateKey, cert: certFromPem(await certificate(kp, 'gateway', 10)) };
    const printable = certFromPem(await certificate(kp, 'gateway', 9, true));
    assert.ok(!printable.issuer.equals(ours.cert.issuer), 'the names differ in bytes');
    const der = encryptEnveloped(Buffer.from('hello'), printable, 'aes128-cbc', 'rsa-oaep');
    assert.equal(decryptEnveloped(der, [other, ours]).pair, ours, 'matched by name as X.520 compares it, and by serial number');
    const withSki = await pair('gateway');
    const bySki = withSubjectKeyIdRecipient(encryptEnveloped(Buffer.from('hello'), withSki.cert, 'aes256-cbc', 'rsa-pkcs1'), withSki.cert.subjectKeyId!);
    assert.equal(decryptEnveloped(bySki, [ours, withSki]).content.toString(), 'hello');
  });

  describe("PartnerCertificates (the door's certificates in force, parsed once)", () => {
    it('parses a certificate once, and a rotated-in certificate at once', async () => {
      const cache = new PartnerCertificates();
      const oldPem = pemOf((await pair('p')).cert.x509.raw);
      const renewed = await pair('p');
      const first = cache.of(oldPem);
      assert.equal(cache.of(oldPem), first, 'the same certificate is not parsed again');
      const next = cache.of(pemOf(renewed.cert.x509.raw));
      assert.equal(next.fingerprint, renewed.cert.fingerprint);
      const content = Buffer.from('signed by the renewed key');
      assert.equal(verifyDetached(content, signDetached(content, renewed, 'sha256'), [next]).signer, next);
      assert.equal(
        failure(() => verifyDetached(content, signDetached(content, renewed, 'sha256'), [first])),
        'authentication-failed',
      );
    });

    it('keeps twins (same issuer and serial number) apart, and holds at most its bound, dropping the one used longest ago', async () => {
      const [a, b] = await twins();
      const cache = new PartnerCertificates(2);
      const pa = pemOf(a.cert.x509.raw);
      const pb = pemOf(b.cert.x509.raw);
      assert.equal(cache.of(pa).fingerprint, a.cert.fingerprint);
      assert.equal(cache.of(pb).fingerprint, b.cert.fingerprint);
      const kept = cache.of(pa);
      cache.of(pemOf((await pair('third')).cert.x509.raw));
      assert.equal(cache.size, 2);
      assert.equal(cache.of(pa), kept, 'used last, so kept');
      assert.equal(cache.of(pb).fingerprint, b.cert.fingerprint, 'dropped, then parsed again');
    });
  });
});

/** The signature of the signed X12 850 captured from phax/as2-lib (its certificate inside). */
function capturedSignature(): Buffer {
  const text = readFileSync(path.join(FIXTURES, 'as2', 'as2-request_signed_x12-850-payload_as2-lib.txt'));
  const entity = parseEntity(text.subarray(text.indexOf('\n') + 1)); // after the request line
  const [, sigPart] = splitMultipart(entity.body, parseContentType(entity.headers.get('content-type')).params.boundary ?? '');
  return decodeBody(parseEntity(sigPart!));
}

/** The enveloped data with its recipient named by [0] subjectKeyIdentifier instead of issuer and serial number. */
function withSubjectKeyIdRecipient(der: Buffer, ski: Buffer): Buffer {
  const ci = pkijs.ContentInfo.fromBER(der);
  const ed = new pkijs.EnvelopedData({ schema: ci.content });
  const ri = ed.recipientInfos[0]!.value as pkijs.KeyTransRecipientInfo;
  ri.version = 2;
  ri.rid = new asn1js.OctetString({ valueHex: ski });
  return Buffer.from(new pkijs.ContentInfo({ contentType: ci.contentType, content: ed.toSchema() }).toSchema().toBER());
}
