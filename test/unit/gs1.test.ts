import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AsnV1 } from '../../src/canonical/types.js';
import { cartonLabelsOfAsn } from '../../src/formats/gs1/asn-labels.js';
import { type CartonLabel, cartonLabelsPdf, ssccBarcodePng } from '../../src/formats/gs1/labels.js';
import { isValidSscc, makeSscc, ssccCheckDigit } from '../../src/formats/gs1/sscc.js';
import { decodeBarcodes, pdfPages, renderPdfPage } from '../helpers/pdf.js';

const refusedWith = (code: string) => (err: unknown) => (err as { code?: string }).code === code;

describe('GS1 SSCC', () => {
  it("computes GS1's published check digits", () => {
    // The example SSCC of GS1 material, "(00) 106141411234567897": extension digit 1, GS1 US's example
    // company prefix 0614141, serial 123456789 (bwip-js shows the same number as its sscc18 example).
    assert.equal(ssccCheckDigit('10614141123456789'), '7');
    // The same mod-10 rule over a shorter key, right-aligned as GS1 says every key is (GS1 Hong Kong's
    // check digit calculator page, https://www.gs1hk.org/CheckDigitCalculator_en.htm: 629104150021 → 3;
    // GS1 India, http://www.gs1india.org/SERV/checkdgt.htm: 890400021003 → 7), padded to 17 digits.
    assert.equal(ssccCheckDigit('00000629104150021'), '3');
    assert.equal(ssccCheckDigit('00000890400021003'), '7');
    assert.equal(isValidSscc('106141411234567897'), true);
    assert.equal(isValidSscc('106141411234567890'), false);
  });

  it('refuses what is not 17 or 18 digits', () => {
    assert.throws(() => ssccCheckDigit('1234'), refusedWith('GW_SSCC_INVALID'));
    for (const s of ['', '10614141123456789', '1061414112345678970', '10614141123456789a', ' 06141411234567897']) assert.equal(isValidSscc(s), false, s);
  });

  it('makes SSCCs from an extension digit, a company prefix and a serial padded to 17 digits', () => {
    assert.equal(makeSscc(1, '0614141', 123456789), '106141411234567897');
    assert.equal(makeSscc(0, '0614141', 42), `00614141000000042${ssccCheckDigit('00614141000000042')}`);
    assert.equal(makeSscc(9, '1234567890', 999999).slice(0, 17), '91234567890999999');
  });

  it('refuses a serial that does not fit, a malformed prefix or extension digit', () => {
    assert.throws(() => makeSscc(0, '0614141', 1_000_000_000), refusedWith('GW_SSCC_INVALID'));
    assert.throws(() => makeSscc(0, '1234567890', 1_000_000), /allows 0 to 999999/);
    assert.throws(() => makeSscc(0, '0614141', -1), refusedWith('GW_SSCC_INVALID'));
    assert.throws(() => makeSscc(0, '061414', 1), refusedWith('GW_SSCC_INVALID'));
    assert.throws(() => makeSscc(0, '06141411234', 1), refusedWith('GW_SSCC_INVALID'));
    assert.throws(() => makeSscc(10, '0614141', 1), refusedWith('GW_SSCC_INVALID'));
  });

  it('property: every SSCC it makes is valid, and changing any one digit makes it invalid', () => {
    const made = fc
      .tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 7, max: 10 }))
      .chain(([ext, len]) =>
        fc.tuple(
          fc.constant(ext),
          fc.integer({ min: 0, max: 10 ** len - 1 }).map((n) => String(n).padStart(len, '0')),
          fc.integer({ min: 0, max: 10 ** (16 - len) - 1 }),
        ),
      )
      .map(([ext, prefix, serial]) => makeSscc(ext, prefix, serial));
    fc.assert(
      fc.property(made, fc.integer({ min: 0, max: 17 }), fc.integer({ min: 1, max: 9 }), (sscc, at, delta) => {
        assert.equal(isValidSscc(sscc), true);
        const changed = sscc.slice(0, at) + String((Number(sscc[at]) + delta) % 10) + sscc.slice(at + 1);
        assert.equal(isValidSscc(changed), false, `${sscc} → ${changed}`);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('GS1-128 carton labels (PDF)', function () {
  this.timeout(60_000);
  const label = (carton: number, sscc: string): CartonLabel => ({
    sscc,
    shipFrom: { name: 'Northwind Traders', lines: ['12 Harbour St', 'Bristol BS1 4DJ', 'GB'] },
    shipTo: { name: 'Distributor DC East', lines: ['1 Dock Rd', 'Newark, NJ 07101', 'US'] },
    poNumber: 'PO-44120',
    shipmentId: 'NW-SH-10045',
    carrier: 'UPSN',
    trackingNumber: '1Z999AA10123456784',
    shipDate: '2026-11-24',
    carton,
    of: 3,
  });
  const ssccs = [makeSscc(0, '0614141', 1), makeSscc(0, '0614141', 2), makeSscc(0, '0614141', 3)];

  it('prints one 4×6 inch page per carton with the parties, PO, shipment, carrier and "Carton n of m"', async () => {
    const pdf = await cartonLabelsPdf(ssccs.map((s, i) => label(i + 1, s)));
    assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
    const pages = await pdfPages(pdf);
    assert.equal(pages.length, 3);
    pages.forEach((text, i) => {
      assert.match(text, new RegExp(`Carton ${i + 1} of 3`));
      assert.ok(text.includes(`(00)${ssccs[i]}`), `page ${i + 1} shows its SSCC: ${text}`);
      for (const s of [
        'SHIP FROM',
        'Northwind Traders',
        'SHIP TO',
        'Distributor DC East',
        'Newark, NJ 07101',
        'PO-44120',
        'NW-SH-10045',
        'UPSN',
        '1Z999AA10123456784',
        '2026-11-24',
      ])
        assert.ok(text.includes(s), `page ${i + 1} lacks "${s}": ${text}`);
    });
    assert.match(pdf.toString('latin1'), /\/MediaBox \[0 0 288 432\]/, '4×6 inches');
  });

  it('leaves out the carrier lines it was not given', async () => {
    const { carrier: _c, trackingNumber: _t, ...bare } = label(1, ssccs[0] as string);
    const [text] = await pdfPages(await cartonLabelsPdf([{ ...bare, of: 1 }]));
    assert.doesNotMatch(text ?? '', /Carrier|Tracking/);
    assert.match(text ?? '', /Carton 1 of 1/);
  });

  it('embeds a GS1-128 barcode a scanner reads back as (00) and the SSCC', async () => {
    for (const sscc of [ssccs[1] as string, '106141411234567897']) {
      const [read, ...more] = await decodeBarcodes(await ssccBarcodePng(sscc));
      assert.equal(more.length, 0);
      assert.ok(read, `no barcode read for ${sscc}`);
      assert.equal(read.symbologyIdentifier, ']C1', 'Code 128 with FNC1 first: GS1-128');
      assert.equal(read.contentType, 'GS1');
      assert.equal(read.text, `(00)${sscc}`);
    }
  });

  it('prints barcodes a scanner reads off the PDF pages themselves, each its own carton', async () => {
    const pdf = await cartonLabelsPdf(ssccs.map((s, i) => label(i + 1, s)));
    for (const [i, sscc] of ssccs.entries()) {
      const read = await decodeBarcodes(await renderPdfPage(pdf, i + 1));
      assert.deepEqual(
        read.map((r) => [r.symbologyIdentifier, r.text]),
        [[']C1', `(00)${sscc}`]],
        `page ${i + 1}`,
      );
    }
  });

  it('refuses a label whose SSCC is not one, and an empty list', async () => {
    await assert.rejects(cartonLabelsPdf([label(1, '0354023220190916')]), refusedWith('GW_SSCC_INVALID'));
    await assert.rejects(cartonLabelsPdf([label(1, '106141411234567890')]), refusedWith('GW_SSCC_INVALID'));
    await assert.rejects(cartonLabelsPdf([]), refusedWith('GW_LABELS_NO_CARTONS'));
  });
});

describe('carton labels of a canonical ship notice', () => {
  const [a, b] = [makeSscc(0, '0614141', 7), makeSscc(0, '0614141', 8)] as [string, string];
  const asn: AsnV1 = {
    shipmentId: 'SH-1',
    shipDate: '2026-11-24',
    carrier: { code: 'UPSN' },
    trackingNumber: '1Z1',
    shipFrom: { name: 'Their own name', street: '12 Harbour St', city: 'Bristol', postalCode: 'BS1 4DJ', country: 'GB' },
    shipTo: { name: 'DC East', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101' },
    orders: [
      {
        purchaseOrderNumber: 'PO-1',
        items: [
          { vendorSku: 'X', quantity: 1, unit: 'each', packageId: a },
          { vendorSku: 'Y', quantity: 1, unit: 'each', packageId: `00${b}` },
        ],
      },
      {
        purchaseOrderNumber: 'PO-2',
        items: [
          { vendorSku: 'Z', quantity: 1, unit: 'each', packageId: b },
          { vendorSku: 'W', quantity: 1, unit: 'each' },
        ],
      },
    ],
  };

  it('makes one label per distinct package id, with the POs packed in it and the partner as ship-from', () => {
    const labels = cartonLabelsOfAsn(asn, 'Northwind Traders');
    assert.deepEqual(
      labels.map((l) => [l.sscc, l.poNumber, l.carton, l.of]),
      [
        [a, 'PO-1', 1, 2],
        [b, 'PO-1, PO-2', 2, 2],
      ],
    );
    assert.deepEqual(labels[0]?.shipFrom, { name: 'Northwind Traders', lines: ['12 Harbour St', 'Bristol, BS1 4DJ', 'GB'] });
    assert.deepEqual(labels[0]?.shipTo, { name: 'DC East', lines: ['1 Dock Rd', 'Newark, NJ 07101'] });
    assert.deepEqual([labels[0]?.carrier, labels[0]?.trackingNumber, labels[0]?.shipDate, labels[0]?.shipmentId], ['UPSN', '1Z1', '2026-11-24', 'SH-1']);
  });

  it('refuses a notice without cartons, and a package id that is not an SSCC', () => {
    const bare = { ...asn, orders: [{ purchaseOrderNumber: 'PO-1', items: [{ vendorSku: 'X', quantity: 1, unit: 'each' as const }] }] };
    assert.throws(() => cartonLabelsOfAsn(bare, 'N'), refusedWith('GW_LABELS_NO_CARTONS'));
    const wrong = { ...asn, orders: [{ purchaseOrderNumber: 'PO-1', items: [{ vendorSku: 'X', quantity: 1, unit: 'each' as const, packageId: 'CARTON-1' }] }] };
    assert.throws(() => cartonLabelsOfAsn(wrong, 'N'), /SH-1: package id "CARTON-1" is not an SSCC/);
  });
});
