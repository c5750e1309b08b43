import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseX12, readX12, type X12Event } from '../../src/formats/x12/parse.js';
import { MAPPINGS } from '../helpers/corpus.js';

const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');
const bytes = (s: string) => Buffer.from(s, 'latin1');

describe('formats/x12/parse', () => {
  it('reads the delimiters from the fixed-length ISA, ISA11 as repetition separator from 00402 on', () => {
    assert.deepEqual(parseX12(bytes(soi))[0]?.delimiters, { element: '*', component: '>', segment: '~', repetition: '-' });
    const pipe = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004010-SOPI-pipe.edi'), 'latin1');
    assert.deepEqual(parseX12(bytes(pipe))[0]?.delimiters, { element: '|', component: '>', segment: '~', repetition: null });
    const v4010 = soi.replace('*-*00406*', '*U*00401*');
    assert.equal(parseX12(bytes(v4010))[0]?.delimiters.repetition, null, 'ISA11 is the standards identifier before 00402');
  });

  it('takes any byte as delimiter: DEL as element separator, NAK as terminator, apostrophe, pipe, tilde', () => {
    for (const [el, seg] of [
      ['\x7f', '\x15'],
      ['+', "'"],
      ['|', '~'],
      ['~', '*'],
      ['*', '\n'],
    ] as const) {
      const text = soi.replace(/\n/g, '').replaceAll('*', '\u0000').replaceAll('~', seg).replaceAll('\u0000', el);
      const [ic] = parseX12(bytes(text));
      assert.deepEqual([ic?.delimiters.element, ic?.delimiters.segment], [el, seg]);
      const set = ic?.groups[0]?.sets[0];
      assert.deepEqual(
        set?.segments[0]?.elements,
        ['14', '829716', '20111206', '142428', '0002'],
        `element ${JSON.stringify(el)} segment ${JSON.stringify(seg)}`,
      );
      assert.deepEqual(set?.problems, []);
    }
  });

  it('ignores line breaks inserted every 80 columns, even inside the ISA', () => {
    const flat = soi.replace(/\n/g, '');
    const wrapped = flat.replace(/(.{80})/g, '$1\r\n');
    const [a] = parseX12(bytes(flat));
    const [b] = parseX12(bytes(wrapped));
    assert.deepEqual(
      b?.groups[0]?.sets[0]?.segments.map((s) => s.elements),
      a?.groups[0]?.sets[0]?.segments.map((s) => s.elements),
    );
    assert.deepEqual(b?.groups[0]?.sets[0]?.problems, []);
  });

  it('reads a mailbag: interchanges with different delimiters, CR/LF or nothing between them', () => {
    const second = soi.replace(/\n/g, '\r\n').replaceAll('*', '|').replaceAll('~', "'").replaceAll('000000049', '000000050');
    const ics = parseX12(bytes(`${soi}\n\n${second}\x1a`));
    assert.deepEqual(
      ics.map((i) => [i.control, i.delimiters.element, i.delimiters.segment, i.groups[0]?.sets[0]?.segments.length]),
      [
        ['000000049', '*', '~', 29],
        ['000000050', '|', "'", 29],
      ],
    );
  });

  it('yields the same events whatever the chunk size', () => {
    const mailbag = bytes(soi + soi.replaceAll('*', '|').replaceAll('000000049', '000000050'));
    const strip = (evs: X12Event[]) => JSON.stringify(evs);
    const whole = strip([...readX12(mailbag)]);
    for (const size of [1, 3, 7, 64, 105, 106, 107]) assert.equal(strip([...readX12(mailbag, size)]), whole, `chunk size ${size}`);
  });

  it('flags a GS06 repeated within an interchange (AK9 19) and an ST02 repeated within a group (AK5 23)', () => {
    const group = soi.slice(soi.indexOf('GS*'), soi.indexOf('IEA*'));
    const set = soi.slice(soi.indexOf('ST*'), soi.indexOf('GE*'));
    const twoGroups = soi.replace(group, group + group).replace('IEA*1*', 'IEA*2*');
    const [a] = parseX12(bytes(twoGroups));
    assert.deepEqual(
      a?.groups.map((g) => g.problems.map((p) => p.x12?.ak9)),
      [[], ['19']],
    );
    const twoSets = soi.replace(set, set + set).replace('GE*1*49', 'GE*2*49');
    const [b] = parseX12(bytes(twoSets));
    assert.deepEqual(
      b?.groups[0]?.sets.map((s) => s.problems.map((p) => p.x12?.ak5)),
      [[], ['23']],
    );
  });

  it('keeps TA1 segments of an interchange without groups', () => {
    const ta1 =
      'ISA*00*          *00*          *ZZ*RECEIVER       *ZZ*SENDER         *200301*1430*^*00501*000000001*0*P*:~' +
      'TA1*000000050*200229*1200*A*000~IEA*0*000000001~';
    const [ic] = parseX12(bytes(ta1));
    assert.deepEqual(
      ic?.ta1.map((s) => s.elements),
      [['000000050', '200229', '1200', 'A', '000']],
    );
    assert.deepEqual(ic?.problems, []);
  });

  it('reports each ISA field of the wrong length with its TA1 note code', () => {
    const [ic] = parseX12(Buffer.from(soi.replace('ABCCO     ', 'ABCCO').replace('4405197800     ', '4405197800\u00a0    '), 'utf8'));
    assert.deepEqual(
      ic?.problems.map((p) => [p.location?.element, p.x12?.ta1]),
      [
        [4, '013'],
        [6, '006'],
      ],
    );
    assert.match(ic?.problems[1]?.message ?? '', /ISA06 \(sender ID\) is 16 bytes, must be 15 \(it contains non-ASCII bytes\)/);
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
    assert.deepEqual(
      ics.map((i) => i.control),
      ['000000049', '000000050'],
    );
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
    assert.throws(
      () => parseX12(bytes('ISA\x7f00')),
      (e: { code: string; message: string }) => e.code === 'GW_X12_ENVELOPE' && e.message.includes('\\x7f'),
    );
    assert.throws(() => parseX12(bytes(soi.replace('*>~\nGS', '*>GS'))), {
      code: 'GW_X12_ENVELOPE',
      message: /No valid segment terminator after ISA16 at line 1: "G" follows/,
    });
    assert.throws(() => parseX12(Buffer.from([0xc9, 0xe2, 0xc1, 0x5c])), { message: /EBCDIC/ });
    assert.throws(() => parseX12(bytes('')), { message: /empty/ });
  });

  it('reports a truncated interchange on the interchange, keeping the sets read before', () => {
    const cut = soi.slice(0, soi.indexOf('GE*'));
    const [ic] = parseX12(bytes(cut));
    assert.equal(ic?.groups[0]?.sets.length, 1);
    assert.deepEqual(
      ic?.problems.map((p) => p.x12?.ta1),
      ['023'],
    );
    assert.deepEqual(
      ic?.groups[0]?.problems.map((p) => p.x12?.ak9),
      ['2'],
    );
  });
});
