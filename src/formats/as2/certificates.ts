import { createHash, type KeyObject, webcrypto, randomBytes, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { contentsOf, type Element, expectUniversal, isContext, isUniversal, octetsOf, oidOf, rawOf, readBer, TAG, derSequence } from './asn1.js';

/**
 * Certificates as AS2 uses them: read once, when the configuration or a key pair is loaded, into
 * what signing, verifying and recipient matching need for every message (the validity, the
 * issuer and serial number as DER, the subject key identifier), so no message parses a
 * certificate again. A rotated certificate is a new Cert: nothing is kept beside the object.
 */

/** A certificate with what the code needs of it. */
export interface Cert {
  x509: X509Certificate;
  /** SHA-256 of the DER, hex with colons (as `openssl x509 -fingerprint -sha256` prints it). */
  fingerprint: string;
  validFrom: Date;
  validTo: Date;
  /** The issuer Name exactly as the certificate encodes it. */
  issuer: Buffer;
  /** The serial number's bytes (the INTEGER's contents). */
  serialNumber: Buffer;
  /** IssuerAndSerialNumber (RFC 5652 §10.2.4) naming this certificate, DER. */
  issuerAndSerial: Buffer;
  /** The subjectKeyIdentifier extension's key identifier, if the certificate has one. */
  subjectKeyId?: Buffer;
}

/** One of our key pairs: the private key and its certificate. */
export interface KeyPair {
  key: KeyObject;
  cert: Cert;
}

const SUBJECT_KEY_IDENTIFIER = '2.5.29.14';

export function certFromPem(pem: string | Buffer): Cert {
  const x509 = new X509Certificate(pem);
  const tbs = expectUniversal(readBer(x509.raw).children[0], TAG.sequence, 'the certificate body');
  // TBSCertificate: [0] version (absent in v1), serialNumber, signature, issuer, validity, subject, … [3] extensions.
  const fields = isContext(tbs.children[0], 0) ? tbs.children.slice(1) : tbs.children;
  const serial = expectUniversal(fields[0], TAG.integer, 'the serial number');
  const issuer = rawOf(expectUniversal(fields[2], TAG.sequence, 'the issuer'));
  const subjectKeyId = subjectKeyIdOf(fields.find((f) => isContext(f, 3)));
  return {
    x509,
    fingerprint: x509.fingerprint256,
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    issuer,
    serialNumber: contentsOf(serial),
    issuerAndSerial: derSequence(issuer, rawOf(serial)),
    ...(subjectKeyId ? { subjectKeyId } : {}),
  };
}

/** The key identifier in a certificate's extensions ([3] EXPLICIT SEQUENCE OF Extension). */
function subjectKeyIdOf(extensions: Element | undefined): Buffer | undefined {
  for (const ext of extensions?.children[0]?.children ?? []) {
    if (oidOf(ext.children[0], 'an extension') !== SUBJECT_KEY_IDENTIFIER) continue;
    const value = ext.children.at(-1);
    if (!isUniversal(value, TAG.octetString)) return undefined;
    const id = readBer(octetsOf(value));
    return isUniversal(id, TAG.octetString) ? Buffer.from(octetsOf(id)) : undefined;
  }
  return undefined;
}

/** All certificates in a PEM file (a partner may send its chain). */
export function certsFromPem(text: string): Cert[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => certFromPem(b));
}

/** Whether the certificate is valid at `at`. */
export function validAt(c: Cert, at: Date): boolean {
  return c.validFrom <= at && at <= c.validTo;
}

/**
 * Whether two Names are the same name: equal bytes, or (a sender that wrote our issuer name in
 * another string type or case) equal as X.520 compares them, which pkijs does.
 */
export function sameName(a: Buffer, b: Buffer): boolean {
  if (a.equals(b)) return true;
  try {
    return pkijs.RelativeDistinguishedNames.fromBER(a).isEqual(pkijs.RelativeDistinguishedNames.fromBER(b));
  } catch {
    return false;
  }
}

/** A self-signed certificate for one of our key pairs (pkijs writes it; Node's key signs it). */
export async function selfSignedCertificate(
  pair: { privateKey: KeyObject; publicKey: KeyObject },
  commonName: string,
  days: number,
  altNames?: { dns: string[]; ip: string[] },
): Promise<string> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: Buffer.concat([Buffer.from([0x01]), randomBytes(15)]) });
  const name = [new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: commonName }) })];
  cert.issuer.typesAndValues.push(...name);
  cert.subject.typesAndValues.push(...name);
  cert.notBefore.value = new Date(Date.now() - 60_000);
  cert.notAfter.value = new Date(Date.now() + days * 86_400_000);
  const spki = pair.publicKey.export({ format: 'der', type: 'spki' });
  cert.subjectPublicKeyInfo = pkijs.PublicKeyInfo.fromBER(spki);
  const keyUsage = new asn1js.BitString({ valueHex: new Uint8Array([0xa0]), unusedBits: 5 }); // digitalSignature, keyEncipherment
  cert.extensions = [
    new pkijs.Extension({ extnID: '2.5.29.15', critical: true, extnValue: keyUsage.toBER(), parsedValue: keyUsage }),
    new pkijs.Extension({
      extnID: SUBJECT_KEY_IDENTIFIER,
      extnValue: new asn1js.OctetString({
        valueHex: createHash('sha1').update(Buffer.from(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)).digest(),
      }).toBER(),
    }),
  ];
  if (altNames) {
    // subjectAltName, so TLS clients can check the host name (2 = dNSName, 7 = iPAddress).
    const names = new pkijs.GeneralNames({
      names: [
        ...altNames.dns.map((value) => new pkijs.GeneralName({ type: 2, value })),
        ...altNames.ip.map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: Uint8Array.from(ip.split('.').map(Number)) }) })),
      ],
    });
    cert.extensions.push(new pkijs.Extension({ extnID: '2.5.29.17', extnValue: names.toSchema().toBER() }));
  }
  const key = await webcrypto.subtle.importKey(
    'pkcs8',
    pair.privateKey.export({ format: 'der', type: 'pkcs8' }),
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  await cert.sign(key, 'SHA-256');
  const der = Buffer.from(cert.toSchema().toBER());
  return `-----BEGIN CERTIFICATE-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
}
