import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { checkGuide } from '../../src/formats/x12/guide.js';
import { parseX12 } from '../../src/formats/x12/parse.js';
import { interpret } from '../../src/pipeline/interpret.js';
import type { Guide, PartnerProfile } from '../../src/types.js';
import { repoConfig } from '../helpers/config.js';
import { MAPPINGS } from '../helpers/corpus.js';

const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const setOf = (text: string) => {
  const set = parseX12(Buffer.from(text, 'latin1'))[0]?.groups[0]?.sets[0];
  assert.ok(set);
  return set;
};

const guide: Guide = {
  transaction: '856',
  segments: {
    BSN: { required: true, elements: { '01': { codes: ['00', '14'] }, '02': { required: true, min: 2, max: 6 }, '05': { required: true } } },
    TD5: { elements: { '03': { min: 5 } } },
    MAN: { required: true },
  },
};

describe('formats/x12/guide: a partner implementation guide as data', () => {
  it('reports each violation at its segment and element with the 997 code and the bad value', () => {
    const problems = checkGuide(setOf(soi.replace('BSN*14*829716*', 'BSN*07*8297160*')), guide);
    assert.deepEqual(
      problems.map((p) => [p.location?.segment, p.location?.position, p.location?.element, p.x12?.ak3, p.x12?.ak4, p.x12?.value]),
      [
        ['BSN', 2, 1, '8', '7', '07'],
        ['BSN', 2, 2, '8', '5', '8297160'],
        ['TD5', 5, 3, '8', '4', 'XXXX'],
        ['MAN', 31, undefined, '3', undefined, undefined],
      ],
    );
    assert.ok(problems.every((p) => p.code === 'GW_X12_GUIDE' && p.x12?.ak5 === '5'));
    assert.match(problems[1]?.message ?? '', /BSN02 "8297160" is 7 characters, at most 6 allowed/);
  });

  it('reports a required element left empty (AK4 1)', () => {
    const problems = checkGuide(setOf(soi.replace('BSN*14*829716*20111206*142428*0002', 'BSN*14*829716*20111206*142428*')), {
      transaction: '856',
      segments: { BSN: { elements: { '05': { required: true } } } },
    });
    assert.deepEqual(
      problems.map((p) => [p.location?.element, p.x12?.ak4]),
      [[5, '1']],
    );
  });

  it('is enforced before mapping for the partner that declares it', async () => {
    const config = await repoConfig();
    const partner = config.partners.get('acme-supply') as PartnerProfile;
    const ok = interpret(Buffer.from(soi, 'latin1'), 'x12', partner, config);
    assert.deepEqual(
      ok.documents.map((d) => d.problems),
      [[]],
    );
    const bad = interpret(Buffer.from(soi.replace('BSN*14*', 'BSN*99*'), 'latin1'), 'x12', partner, config);
    assert.deepEqual(
      bad.documents[0]?.problems.map((p) => [p.code, p.location?.segment, p.location?.element, p.x12?.ak4]),
      [['GW_X12_GUIDE', 'BSN', 1, '7']],
    );
    assert.equal(bad.documents[0]?.canonical, null);
  });
});
