import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../../src/config/load.js';
import { describeLocation } from '../../src/errors.js';
import { interpret } from '../../src/pipeline/interpret.js';
import type { PartnerProfile } from '../../src/types.js';
import { corpusPartner, repoConfig } from '../helpers/config.js';
import { CORPUS, HAS_CORPUS, requireCorpus } from '../helpers/corpus.js';

/**
^ * Every X12 856, 810, 855 and 846 of the shared sample corpus, read with the demo X12 partner's profiles
 * (sender check off: the samples come from many senders). The expected outcome of each file is
 * written out here; a change in any of them fails the test.
 */
const EXPECTED: Record<string, string> = {
  '810-850_two-groups_004010-003010_staedi.edi': 'invoice 00001, invoice 00001, rejected GW_DOC_TYPE_UNKNOWN (850)',
  '810_004010_two-invoices_crlf_bots.x12': 'invoice 465266, invoice 465267',
  '846_004010_tilde-element_brace-terminator_oopfactory.txt': 'inventory 10353',
  '846_004010_tilde-element_star-terminator_oopfactory.txt': 'rejected GW_MAP_TRANSFORM (846)',
  '855_004010UCS_six-sets_bots.x12': 'po-ack 194207, po-ack 194208, po-ack 194721, po-ack 194722, po-ack 194723, po-ack 194724',
  '855_005010_stedi.edi': 'po-ack 365465413',
  '856_004010VICS_SOPI_oopfactory.txt': 'asn 521649209219',
  '856_004010_SOI-multiple-orders_bots.x12': 'asn 4167421111',
  '856_004010_SOPI_retailer_crlf_bots.x12': 'asn 15918861602',
  '856_004010_pipe-element_single-line_vscode-x12.edi': 'asn 177164933',
  '856_004010_plus-apostrophe-delimiters_bots.x12': 'asn 4167427123, asn 4167427123',
  '856_004010_tilde-element_star-terminator_oopfactory.txt': 'asn 123456',
  '856_004010_two-sets_SOPI_crlf_bots.x12': 'asn 4167427123, asn 4167427123',
  '856_004060_SOI_node-x12.edi': 'asn 829716',
};

describe('shared corpus: every X12 856, 810, 855 and 846 is translated or rejected precisely', () => {
  let config: GatewayConfig;
  let partner: PartnerProfile;

  before(async function () {
    requireCorpus(this);
    config = await repoConfig();
    partner = corpusPartner(config);
  });

  const files = HAS_CORPUS
    ? readdirSync(path.join(CORPUS, 'x12'))
        .filter((f) => /^(856|810|855|846)/.test(f))
        .sort()
    : [];

  it('lists exactly the expected files', function () {
    requireCorpus(this);
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(file, () => {
      const result = interpret(readFileSync(path.join(CORPUS, 'x12', file)), 'x12', partner, config);
      const outcome = [
        ...result.problems.map((p) => `rejected ${p.code}`),
        ...result.documents.map((d) =>
          d.canonical ? `${d.type} ${d.keys.documentNumber}` : `rejected ${d.problems[0]?.code} (${d.sourceRef.replace(/.*\((\d+)\)$/, '$1')})`,
        ),
      ].join(', ');
      const reasons = [...result.problems, ...result.documents.flatMap((d) => d.problems)].map(
        (p) => `${p.code}: ${p.message} [${describeLocation(p.location)}]`,
      );
      console.log(`      ${file}: ${outcome}${reasons.length ? `\n        ${reasons.join('\n        ')}` : ''}`);
      assert.equal(outcome, EXPECTED[file]);
      for (const d of result.documents)
        for (const p of d.problems) assert.ok(p.location && describeLocation(p.location), `problem without a location: ${p.message}`);
    });
  }
});
