import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeLocation, isGatewayError, type Problem } from '../../src/errors.js';
import { contrlInterchange } from '../../src/formats/edifact/contrl.js';
import { type EdifactInterchange, parseEdifact, parseEdifactInterchanges, segmentValue } from '../../src/formats/edifact/parse.js';
import { checkMessageStructure } from '../../src/formats/edifact/structure-check.js';
import { interpretEdifact } from '../../src/pipeline/interpret-edifact.js';
import { corpusPartner, repoConfig } from '../helpers/config.js';
import { CORPUS, HAS_CORPUS, requireCorpus } from '../helpers/corpus.js';

/**
 * Every EDIFACT file of the shared corpus, read by the gateway's reader: its interchanges, syntax,
 * messages by type and version, and every problem by code and place (segment, element, component),
 * the D.96A segment-table and data element checks of DESADV/INVOIC/ORDERS/ORDRSP included (all of
 * the corpus's D.96A messages of those types pass both), or the precise reason it refuses the file.
 * A change in any outcome fails the test.
 */
const EXPECTED: Record<string, string> = {
  'APERAK_D96A_bots.edi': 'UNOA:3 APERAK D:96A×1',
  // UNH S009 0052 is "0", not "D": no segment table applies, so its structure is not checked.
  'DESADV_96A_noUNA_php-edifact.edi': 'UNOC:1 DESADV 0:96A×1',
  'DESADV_D96A_EAN005_3msgs_UNA_bots.edi': 'UNOC:3 DESADV D:96A×3',
  // QTY+12:121212121212.121: 15 digits and a decimal mark, within n..15 (the mark does not count).
  'DESADV_D96A_EAN005_8msgs_noUNA_bots.edi': 'UNOA:3 DESADV D:96A×8',
  // UNOA declared, "ü" sent as UTF-8.
  'INVOIC_D93A_decimal-comma_UNA_staedi.edi': 'UNOA:2 INVOIC D:93A×1; GW_EDIFACT_CHARSET(21)@NAD06, GW_EDIFACT_CHARSET(21)@NAD06',
  'INVOIC_D96A_EAN008_2msgs_UNA_bots.edi': 'UNOC:3 INVOIC D:96A×2',
  // Both messages carry 0062 111425.
  'INVOIC_D96A_EAN008_2msgs_noUNA_UNOC_bots.edi': 'UNOC:3 INVOIC D:96A×2; GW_EDIFACT_MESSAGE_TRAILER(26)@UNH01',
  'INVOIC_D97B_caret-star-dollar-UNA_edireader.edi': 'UNOA:1 INVOIC D:97B×1',
  'INVOIC_D97B_custom-UNA_staedi.edi': 'UNOA:3 INVOIC D:97B×1',
  // "$1.179" in PRI: "$" is outside UNOA (the non-numeric QTY and bad qualifier need the message directory).
  'INVOIC_D97B_invalid_staedi.edi': 'UNOA:3 INVOIC D:97B×1; GW_EDIFACT_CHARSET(21)@PRI01:2',
  'INVOIC_D97B_noUNA_staedi.edi': 'UNOA:3 INVOIC D:97B×1; GW_EDIFACT_CHARSET(21)@NAD04',
  'INVOIC_D97B_wrapped_staedi.edi': 'UNOA:3 INVOIC D:97B×1; GW_EDIFACT_CHARSET(21)@NAD04',
  'ORDERS_D01B_EAN008_UNOE-iso8859-5_edireader.edi': 'UNOE:3 ORDERS D:01B×1',
  'ORDERS_D01B_EAN010_ok_php-edifact.edi': 'UNOC:3 ORDERS D:01B×1',
  // Syntactically readable: the unreleased ":" only adds components (checked below).
  'ORDERS_D01B_EAN010_unescaped-colon_php-edifact.edi': 'UNOC:3 ORDERS D:01B×1',
  'ORDERS_D03B_EAN008_syntax4-repetition_smooks.txt': 'UNOA:4 ORDERS D:03B×1',
  // Two interchanges one after the other.
  'ORDERS_D96A_EAN008_3msgs_noUNA_bots.edi': 'UNOA:3 ORDERS D:96A×2 | UNOA:3 ORDERS D:96A×1',
  // UNT says 21 segments; the message has 18.
  'ORDERS_D96B_EAN008_UNG-group_staedi.edi': 'UNOA:3 1 group(s) ORDERS D:96B×1; GW_EDIFACT_MESSAGE_TRAILER(29)@UNT01',
  'PRICAT_D96A_EAN006_bots.edi': 'UNOC:3 PRICAT D:96A×1',
};

const label = (p: Problem) => {
  const l = p.location ?? {};
  const element = l.element ? String(l.element).padStart(2, '0') : '';
  return `${p.code}(${p.edifact?.error ?? '-'})@${l.segment ?? `line ${l.line}`}${element}${l.component ? `:${l.component}` : ''}`;
};

function outcome(bytes: Buffer): { summary: string; reasons: string[] } {
  let interchanges: EdifactInterchange[];
  try {
    interchanges = parseEdifactInterchanges(bytes);
  } catch (err) {
    if (!isGatewayError(err)) throw err;
    const p = err.toProblem();
    return { summary: `refused ${label(p)}`, reasons: [`${p.code}: ${p.message} [${describeLocation(p.location)}]`] };
  }
  const problems: Problem[] = [];
  const parts = interchanges.map((ic) => {
    const counts = new Map<string, number>();
    for (const m of ic.messages) counts.set(`${m.type} ${m.version}:${m.release}`, (counts.get(`${m.type} ${m.version}:${m.release}`) ?? 0) + 1);
    problems.push(...ic.problems, ...ic.groups.flatMap((g) => g.problems), ...ic.messages.flatMap((m) => [...m.problems, ...checkMessageStructure(m)]));
    const groups = ic.groups.length ? ` ${ic.groups.length} group(s)` : '';
    return `${ic.syntax.id}:${ic.syntax.version}${groups} ${[...counts].map(([k, v]) => `${k}×${v}`).join(' ')}`;
  });
  const noted = problems.length ? `; ${problems.map(label).join(', ')}` : '';
  return { summary: `${parts.join(' | ')}${noted}`, reasons: problems.map((p) => `${p.code}: ${p.message} [${describeLocation(p.location)}]`) };
}

describe('shared corpus: every EDIFACT file is read, or refused with a precise reason', () => {
  const files = HAS_CORPUS ? readdirSync(path.join(CORPUS, 'edifact')).sort() : [];

  it('lists exactly the expected files', function () {
    requireCorpus(this);
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(file, () => {
      const { summary, reasons } = outcome(readFileSync(path.join(CORPUS, 'edifact', file)));
      console.log(`      ${file}: ${summary}${reasons.length ? `\n        ${reasons.join('\n        ')}` : ''}`);
      assert.equal(summary, EXPECTED[file]);
      for (const r of reasons) assert.match(r, /line \d+:\d+/, `a problem without line and column: ${r}`);
    });
  }
});

describe('shared corpus: EDIFACT values as the senders meant them', () => {
  const read = (file: string) => parseEdifact(readFileSync(path.join(CORPUS, 'edifact', file)));
  const segments = (ic: EdifactInterchange, tag: string) => ic.messages.flatMap((m) => m.segments).filter((s) => s.tag === tag);

  it('decodes UNOE as ISO 8859-5 (Cyrillic)', function () {
    requireCorpus(this);
    const bgm = segments(read('ORDERS_D01B_EAN008_UNOE-iso8859-5_edireader.edi'), 'BGM')[0];
    assert.ok(bgm);
    assert.match(segmentValue(bgm, 1, 4), /^[\u0400-\u04ff ]+$/);
  });

  it('reads a custom UNA (=*.? ~) with released characters, and the syntax 4 repetition separator', function () {
    requireCorpus(this);
    const custom = read('INVOIC_D97B_custom-UNA_staedi.edi');
    assert.deepEqual(custom.separators, { component: '=', element: '*', decimal: '.', release: '?', repetition: null, segment: '~' });
    assert.deepEqual(custom.recipient, { id: '006415160', qualifier: '1' });
    const com = segments(read('ORDERS_D03B_EAN008_syntax4-repetition_smooks.txt'), 'COM')[0];
    assert.deepEqual(com?.repetitions?.[0], [
      ['s11', 'AA'],
      ['s21', 'AA'],
      ['s31', 'AA'],
    ]);
  });

  it('locates the bad character of the invalid INVOIC by segment, element, component, line, column and byte', function () {
    requireCorpus(this);
    const [problem] = read('INVOIC_D97B_invalid_staedi.edi').messages[0]?.problems ?? [];
    assert.deepEqual(problem?.location, {
      segment: 'PRI',
      segmentIndex: 14,
      line: 14,
      column: 9,
      offset: 351,
      element: 1,
      component: 2,
      position: 13,
      transaction: '00000000000117',
    });
  });

  it('reads groups: the message names its UNG', function () {
    requireCorpus(this);
    const ic = read('ORDERS_D96B_EAN008_UNG-group_staedi.edi');
    assert.equal(ic.groups[0]?.functionalId, 'ORDERS');
    assert.deepEqual(ic.groups[0]?.messageRefs, ['1']);
    assert.equal(ic.messages[0]?.group, '1');
    assert.equal(ic.test, true);
  });

  it('shows the unreleased colons of the error file as extra components; "?*" and "*" read alike', function () {
    requireCorpus(this);
    const imd = (file: string) => segments(read(file), 'IMD').map((s) => JSON.stringify(s.elements));
    const ok = imd('ORDERS_D01B_EAN010_ok_php-edifact.edi');
    const bad = imd('ORDERS_D01B_EAN010_unescaped-colon_php-edifact.edi');
    assert.equal(ok.length, bad.length);
    const differ = ok.flatMap((shape, i) => (shape === bad[i] ? [] : [[JSON.parse(shape), JSON.parse(bad[i] as string)] as string[][][]]));
    assert.equal(differ.length, 2);
    for (const [good, broken] of differ) assert.ok((broken?.[2]?.length ?? 0) > (good?.[2]?.length ?? 0));
  });
});

describe('shared corpus: the CONTRL of every readable EDIFACT file mirrors its envelope and names each rejected message', () => {
  const files = HAS_CORPUS ? readdirSync(path.join(CORPUS, 'edifact')).sort() : [];
  for (const file of files) {
    it(file, async function () {
      requireCorpus(this);
      const partner = corpusPartner(await repoConfig());
      const bytes = readFileSync(path.join(CORPUS, 'edifact', file));
      const { edifact: receipts } = interpretEdifact(bytes, partner, []);
      for (const [i, r] of receipts.entries()) {
        const text = contrlInterchange(r, false, { interchange: String(500 + i), message: '1' }, new Date(Date.UTC(2026, 0, 2, 3, 4)), '\n');
        const contrl = parseEdifact(Buffer.from(text, 'latin1'));
        assert.deepEqual(contrl.problems, [], text);
        assert.deepEqual([contrl.sender.id, contrl.recipient.id], [r.recipient.id, r.sender.id]);
        const [message] = contrl.messages;
        assert.equal(message?.type, 'CONTRL');
        assert.deepEqual(message?.problems, []);
        const uci = message?.segments[0];
        assert.equal(uci?.tag, 'UCI');
        assert.equal(segmentValue(uci!, 1), r.controlRef);
        assert.equal(segmentValue(uci!, 4), r.problems.length ? '4' : '7');
        const rejected = r.messages.filter((m) => m.problems.length).map((m) => m.ref);
        const ucm = message?.segments.filter((s) => s.tag === 'UCM').map((s) => [segmentValue(s, 1), segmentValue(s, 3)]);
        assert.deepEqual(ucm, r.problems.length ? [] : rejected.map((ref) => [ref, '4']));
      }
    });
  }
});
