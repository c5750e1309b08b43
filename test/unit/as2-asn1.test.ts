import assert from 'node:assert/strict';
import * as asn1js from 'asn1js';
import {
  Asn1Error,
  contentsOf,
  derElement,
  derOid,
  derSequence,
  derTime,
  octetsOf,
  oidOf,
  rawOf,
  readBer,
  TAG,
  type Element,
} from '../../src/formats/as2/asn1.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const refused = (bytes: Buffer, message: RegExp) =>
  assert.throws(
    () => readBer(bytes),
    (err: Error) => err instanceof Asn1Error && message.test(err.message),
  );
const tags = (el: Element): unknown => (el.constructed ? [el.tag, el.children.map(tags)] : el.tag);

describe('AS2: the ASN.1 reader and writer (BER in, DER out)', () => {
  it('reads definite lengths in short and long form, and high tag numbers', () => {
    const long = Buffer.alloc(300, 0x41);
    const el = readBer(Buffer.concat([hex('30 82 01 35'), hex('04 82 01 2c'), long, hex('9f 81 00 01 ff')]));
    assert.deepEqual(tags(el), [TAG.sequence, [TAG.octetString, 128]]);
    assert.ok(contentsOf(el.children[0]!).equals(long));
    assert.equal(el.children[1]!.tagClass, 2);
    assert.ok(contentsOf(el.children[1]!).equals(hex('ff')));
  });

  it('reads indefinite lengths, nested, up to their end-of-contents, and joins a string sent in pieces', () => {
    // [0] { OCTET STRING (constructed, indefinite) { "ab", OCTET STRING (constructed) { "cd" } } }
    const bytes = hex('a0 80 24 80 04 02 6162 24 04 04 02 6364 00 00 00 00');
    const el = readBer(Buffer.concat([bytes, hex('0500')]));
    assert.equal(el.end, bytes.length, 'the element ends after its end-of-contents; what follows is not read');
    assert.equal(octetsOf(el.children[0]!).toString(), 'abcd');
    assert.ok(rawOf(el).equals(bytes));
  });

  it('refuses what is cut short, runs past what holds it, or is not BER', () => {
    refused(hex(''), /cut short/);
    refused(hex('30'), /length is cut short/);
    refused(hex('1f'), /tag is cut short/);
    refused(hex('04 05 6162'), /runs past/);
    refused(hex('30 04 04 05 6162'), /runs past/);
    refused(hex('30 84 00'), /length is cut short/);
    refused(hex('04 85 0000000001 00'), /length of 5 bytes/);
    refused(hex('04 80 00 00'), /primitive element .* indefinite/);
    refused(hex('30 80 04 01 61'), /no end-of-contents/);
    refused(hex('30 80 00 01 00 00 00'), /misplaced end-of-contents/);
    refused(hex('30 02 00 00'), /misplaced end-of-contents/);
  });

  it('refuses nesting deeper than a CMS structure needs, without exhausting the stack', () => {
    refused(Buffer.from('3080'.repeat(50_000), 'hex'), /deeper than 64/);
    const deep = (n: number): Buffer => (n === 0 ? hex('0500') : derSequence(deep(n - 1)));
    assert.doesNotThrow(() => readBer(deep(60)));
    refused(deep(70), /deeper than 64/);
  });

  it('refuses a constructed string whose pieces are not OCTET STRINGs', () => {
    assert.throws(() => octetsOf(readBer(hex('24 04 0c 02 6162'))), /not an OCTET STRING/);
  });

  it('reads object identifiers, including arcs past 127 and a first arc of 2', () => {
    for (const oid of ['1.2.840.113549.1.7.2', '2.16.840.1.101.3.4.2.1', '2.999.3', '1.3.14.3.2.26']) {
      assert.equal(oidOf(readBer(derOid(oid)), 'oid'), oid);
      assert.ok(derOid(oid).equals(Buffer.from(new asn1js.ObjectIdentifier({ value: oid }).toBER())), `${oid} as asn1js writes it`);
    }
    assert.throws(() => oidOf(readBer(hex('06 01 81')), 'the oid'), /malformed object identifier/);
    assert.throws(() => oidOf(readBer(hex('04 01 01')), 'the oid'), /the oid is not an OBJECT IDENTIFIER/);
  });

  it('writes lengths in the shortest form DER requires', () => {
    for (const n of [0, 127, 128, 255, 256, 65_535, 65_536]) {
      const der = derElement(0x04, Buffer.alloc(n));
      const el = readBer(der);
      assert.equal(contentsOf(el).length, n);
      assert.ok(der.equals(Buffer.from(new asn1js.OctetString({ valueHex: new Uint8Array(n) }).toBER())), `${n} bytes as asn1js writes them`);
    }
  });

  it('writes UTCTime up to 2049 and GeneralizedTime from 2050 (RFC 5652 §11.3)', () => {
    assert.ok(derTime(new Date('2026-11-30T05:06:07.890Z')).equals(Buffer.concat([hex('17 0d'), Buffer.from('261130050607Z')])));
    assert.ok(derTime(new Date('2049-12-31T23:59:59Z')).equals(Buffer.concat([hex('17 0d'), Buffer.from('491231235959Z')])));
    assert.ok(derTime(new Date('2050-01-01T00:00:00Z')).equals(Buffer.concat([hex('18 0f'), Buffer.from('20500101000000Z')])));
  });
});
