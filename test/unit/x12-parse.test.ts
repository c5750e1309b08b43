import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseX12, readIsa } from '../../src/formats/x12/parse.js';
import { FIXTURES } from '../helpers/corpus.js';

const soi = readFileSync(path.join(FIXTURES, 'acme-supply', '856-004060-SOI.edi'), 'latin1');
const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('formats/x12/parse', () => {
  it('reads the delimiters from the fixed-length ISA', () => {
    assert.deepEqual({ ...readIsa(soi), fields: undefined }, { element: '*', component: '>', segment: '~', fields: undefined });
    const pipe = readFileSync(path.join(FIXTURES, 'acme-supply', '856-004010-SOPI-pipe.edi'), 'latin1');
    assert.equal(readIsa(pipe).element, '|');
  });

  it('splits interchange, group and set with 1-based segment positions and lines', () => {
    const [ic] = parseX12(bytes(soi));
    assert.ok(ic);
    assert.deepEqual([ic.sender, ic.control, ic.groups.length], [{ qualifier: '12', id: '4405197800' }, '000000049', 1]);
    const set = ic.groups[0]?.sets[0];
    assert.equal(set?.id, '856');
    assert.equal(set?.version, '004060');
    assert.deepEqual(set?.segments[0], { tag: 'BSN', elements: ['14', '829716', '20111206', '142428', '0002'], position: 2, line: 4 });
    assert.deepEqual(set?.problems, []);
  });

  it('drops a UTF-8 byte-order mark', () => {
    const [ic] = parseX12(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), bytes(soi)]));
    assert.equal(ic?.groups[0]?.sets[0]?.segments.length, 29);
  });

  it('reads several interchanges in one file', () => {
    const ics = parseX12(bytes(soi + soi.replaceAll('000000049', '000000050')));
    assert.deepEqual(ics.map((i) => i.control), ['000000049', '000000050']);
    assert.equal(ics[1]?.groups[0]?.sets[0]?.segments[0]?.line, 38, 'lines count from the start of the file (no newline after the first IEA)');
  });

  it('flags a wrong SE01 on the set, naming the SE position', () => {
    const [ic] = parseX12(bytes(soi.replace('SE*31*0008', 'SE*29*0008')));
    const p = ic?.groups[0]?.sets[0]?.problems[0];
    assert.equal(p?.code, 'GW_X12_SET_TRAILER');
    assert.deepEqual(p?.location, { segment: 'SE', position: 31, element: 1, transaction: '0008', line: 33 });
    assert.match(p?.message ?? '', /SE01 says 29 segments, transaction set 0008 has 31/);
  });

  it('flags SE02 ≠ ST02, GE02 ≠ GS06 and IEA02 ≠ ISA13', () => {
    const [a] = parseX12(bytes(soi.replace('SE*31*0008', 'SE*31*0009')));
    assert.match(a?.groups[0]?.sets[0]?.problems[0]?.message ?? '', /SE02 "0009" does not match ST02 "0008"/);
    const [b] = parseX12(bytes(soi.replace('GE*1*49', 'GE*1*48')));
    assert.equal(b?.groups[0]?.problems[0]?.code, 'GW_X12_GROUP');
    const [c] = parseX12(bytes(soi.replace('IEA*1*000000049', 'IEA*1*000000048')));
    assert.equal(c?.problems[0]?.code, 'GW_X12_ENVELOPE');
    const [d] = parseX12(bytes(soi.replace('GE*1*49', 'GE*2*49')));
    assert.match(d?.groups[0]?.problems[0]?.message ?? '', /GE01 says 2 transaction sets, group 49 has 1/);
  });

  it('refuses what is not an interchange with the reason and position', () => {
    assert.throws(() => parseX12(bytes('GS*SH*1*2~')), { code: 'GW_X12_ENVELOPE', message: /does not start with an ISA segment \(found "GS\*"/ });
    assert.throws(() => parseX12(bytes(soi.slice(0, 50))), { code: 'GW_X12_ENVELOPE', message: /truncated or malformed/ });
    assert.throws(() => parseX12(bytes('ISA\x7f00')), (e: { code: string; message: string }) => e.code === 'GW_X12_ENVELOPE' && e.message.includes('\\x7f'));
  });
});
