import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { makeSscc } from '../../src/formats/gs1/sscc.js';
import { runCli } from '../helpers/cli.js';
import { REPO } from '../helpers/corpus.js';
import { ACME_KEY, gatewaySuite, NORTHWIND_KEY, post, waitFor } from '../helpers/gateway.js';
import { PortalClient } from '../helpers/portal-client.js';
import { decodeBarcodes, pdfPages, renderPdfPage } from '../helpers/pdf.js';

const PASSWORD = 'suppliers use long passwords';
const SSCCS = [1, 2, 3].map((n) => makeSscc(0, '0614141', 4200 + n));
const NORTHWIND_ASN = readFileSync(path.join(REPO, 'mappings', 'northwind', 'samples', 'asn.json'), 'utf8');

/**
 * ACME's pipe-delimited 856 (mappings/acme-supply/samples/856-004010-SOPI-pipe.edi) with three pack
 * levels, each with its carton's SSCC in MAN*GM and one item.
 */
function asnWithCartons(isa13: string): string {
  const sample = readFileSync(path.join(REPO, 'mappings', 'acme-supply', 'samples', '856-004010-SOPI-pipe.edi'), 'latin1');
  const isa = sample.slice(0, sample.indexOf('~')).replace('|990000002|', `|${isa13}|`);
  const header = sample.slice(sample.indexOf('ST|856'), sample.indexOf('HL|3|2|P|1')).split('~').filter(Boolean);
  const packs = SSCCS.flatMap((sscc, i) => [
    `HL|${3 + 2 * i}|2|P|1`,
    `MAN|GM|${sscc}`,
    `HL|${4 + 2 * i}|${3 + 2 * i}|I|0`,
    'LIN|1|VC|10151|N4|50242005306|LT|3308212',
    'SN1|1|4|EA||4|EA',
  ]);
  const set = [...header, ...packs, `CTT|${2 + 2 * SSCCS.length}`];
  return [isa, 'GS|SH|RA0219798|T_NUFACTOR|20190917|065900|3|X|004010', ...set, `SE|${set.length + 1}|0001`, 'GE|1|3', `IEA|1|${isa13}`, ''].join('~');
}

describe('carton labels for a ship notice (real server, real HTTP, real CLI)', function () {
  this.timeout(180_000);
  const suite = gatewaySuite();
  const ada = new PortalClient(() => suite.url);

  before(async () => {
    const added = await runCli(['users', 'add', 'ada', '--role', 'supplier', '--partner', 'acme-supply'], {
      env: { DATABASE_URL: suite.db.url, GATEWAY_DATA_DIR: suite.t.dataDir, PARTNERS_DIR: suite.t.partnersDir },
      input: PASSWORD,
    });
    assert.equal(added.status, 0, added.stderr);
    await ada.signIn('ada', PASSWORD);
  });

  it('prints one labelled page per carton of an X12 856 sent over REST', async () => {
    const sent = await post(suite.url, ACME_KEY, 'application/edi-x12', asnWithCartons('990004201'));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const labels = await waitFor(
      'the labels of the interpreted ship notice',
      () => ada.request(`/portal/asn/${sent.body.messageId}/labels.pdf`),
      (r) => r.status !== 422 || !r.body.includes('GW_LABELS_NO_CARTONS'),
      30_000,
    );
    assert.equal(labels.status, 200, labels.body.toString('utf8'));
    assert.equal(labels.headers.get('content-type'), 'application/pdf');
    assert.match(labels.headers.get('content-disposition') ?? '', /^attachment; filename="labels-177164933\.pdf"$/);
    const pages = await pdfPages(labels.body);
    assert.equal(pages.length, SSCCS.length, 'one page per pack');
    pages.forEach((text, i) => {
      for (const s of [
        `(00)${SSCCS[i]}`,
        `Carton ${i + 1} of 3`,
        '6218',
        '177164933',
        'ACME (test)',
        'NUFACTOR INC',
        'TEMECULA, CA 92590',
        'UPS NxtDay Air Svr',
        '2019-09-16',
      ])
        assert.ok(text.includes(s), `page ${i + 1} lacks "${s}": ${text}`);
    });
    const scanned = await decodeBarcodes(await renderPdfPage(labels.body, 2));
    assert.deepEqual(
      scanned.map((r) => r.text),
      [`(00)${SSCCS[1]}`],
      'the second carton scans as its SSCC',
    );
  });

  it("answers another partner's ship notice exactly as a missing one: the same 404", async () => {
    const foreign = await post(suite.url, NORTHWIND_KEY, 'application/json', NORTHWIND_ASN);
    assert.equal(foreign.status, 202);
    await waitFor(
      "northwind's ship notice to be interpreted",
      () => suite.db.knex('documents').where({ message_id: foreign.body.messageId }).first('state'),
      (row) => row?.state === 'accepted',
      30_000,
    );
    const theirs = await ada.request(`/portal/asn/${foreign.body.messageId}/labels.pdf`);
    const missing = await ada.request(`/portal/asn/${randomUUID()}/labels.pdf`);
    assert.equal(theirs.status, 404);
    assert.deepEqual([missing.status, missing.body.toString('utf8')], [theirs.status, theirs.body.toString('utf8')]);
    assert.match(theirs.body.toString('utf8'), /<code>GW_NOT_FOUND<\/code>/);
    assert.doesNotMatch(theirs.body.toString('utf8'), new RegExp(foreign.body.messageId));
  });

  it('refuses, as a page, a ship notice whose package ids are not SSCCs', async () => {
    const sample = readFileSync(path.join(REPO, 'mappings', 'acme-supply', 'samples', '856-004010-SOPI-pipe.edi'), 'latin1');
    const sent = await post(suite.url, ACME_KEY, 'application/edi-x12', sample.replaceAll('990000002', '990004202'));
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    const r = await waitFor(
      'the sample ship notice to be interpreted',
      () => ada.request(`/portal/asn/${sent.body.messageId}/labels.pdf`),
      (x) => !x.body.includes('GW_LABELS_NO_CARTONS'),
      30_000,
    );
    assert.equal(r.status, 422);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(r.body.toString('utf8'), /package id &quot;0354023220190916&quot; is not an SSCC[\s\S]*<code>GW_SSCC_INVALID<\/code>/);
  });

  it('is for signed-in suppliers only', async () => {
    const anonymous = await fetch(`${suite.url}/portal/asn/${randomUUID()}/labels.pdf`, { redirect: 'manual' });
    assert.deepEqual([anonymous.status, anonymous.headers.get('location')], [303, '/portal/sign-in']);
  });
});
