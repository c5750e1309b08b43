import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describeLocation } from '../../src/errors.js';
import { ackSetCount, planAck, renderAck } from '../../src/formats/x12/ack.js';
import { parseX12, readX12 } from '../../src/formats/x12/parse.js';
import type { InterchangeReport } from '../../src/formats/x12/report.js';
import { X12Interpreter } from '../../src/pipeline/interpret.js';
import { corpusPartner, repoConfig } from '../helpers/config.js';
import { CORPUS, HAS_CORPUS, requireCorpus } from '../helpers/corpus.js';

/**
 * Every X12 file of the shared corpus, read by the gateway's reader: what it finds in each (sets by
 * type, TA1 segments) and every problem, by code and place, or the precise reason it refuses the file.
 * A change in any outcome fails the test.
 */
const EXPECTED: Record<string, string> = {
  '210_004010_wrapped-80col_staedi.edi': '1 interchange(s): 210×1',
  '810-850_two-groups_004010-003010_staedi.edi': '1 interchange(s): 810×2 850×1',
  '810_004010_two-invoices_crlf_bots.x12': '1 interchange(s): 810×2',
  '846_004010_tilde-element_brace-terminator_oopfactory.txt': '1 interchange(s): 846×1',
  '846_004010_tilde-element_star-terminator_oopfactory.txt': '1 interchange(s): 846×1',
  '850_004010VICS_DEL-element_NAK-terminator_bots.x12': '1 interchange(s): 850×4',
  '850_004010VICS_newline-terminator_node-x12.edi': '1 interchange(s): 850×1',
  '850_004010VICS_two-interchanges_node-x12.edi': '2 interchange(s): 850×2',
  '850_004010_CR-as-terminator_bots.x12': '1 interchange(s): 850×1',
  '850_004010_ebcdic-80col-records_bots.x12': '0 interchange(s); refused GW_X12_ENVELOPE@ISA',
  '850_004010_missing-ISA16_edinet.edi': '1 interchange(s): 850×2; GW_X12_SET_TRAILER@ST, GW_X12_GROUP@GE, GW_X12_ENVELOPE@ISA16, GW_X12_ENVELOPE@IEA02',
  '850_004010_nbsp-in-ISA_edinet.edi':
    '1 interchange(s): 850×1; GW_X12_ENVELOPE@ISA02, GW_X12_ENVELOPE@ISA04, GW_X12_ENVELOPE@ISA06, GW_X12_ENVELOPE@ISA08, GW_X12_ENVELOPE@IEA02',
  '850_004010_pipe-element_single-line_bots.x12': '1 interchange(s): 850×4',
  '850_004010_pipe-terminator_tilde-component_oopfactory.txt': '1 interchange(s): 850×1',
  '850_004010_wrapped-80col_bots.x12': '1 interchange(s): 850×2',
  '850_008020_stedi.edi': '1 interchange(s): 850×1',
  '855_004010UCS_six-sets_bots.x12': '1 interchange(s): 855×6',
  '855_005010_stedi.edi': '1 interchange(s): 855×1',
  '856_004010VICS_SOPI_oopfactory.txt': '1 interchange(s): 856×1',
  '856_004010_SOI-multiple-orders_bots.x12': '1 interchange(s): 856×1',
  '856_004010_SOPI_retailer_crlf_bots.x12': '1 interchange(s): 856×1',
  '856_004010_pipe-element_single-line_vscode-x12.edi': '1 interchange(s): 856×1',
  '856_004010_plus-apostrophe-delimiters_bots.x12': '1 interchange(s): 856×2',
  '856_004010_tilde-element_star-terminator_oopfactory.txt': '1 interchange(s): 856×1',
  '856_004010_two-sets_SOPI_crlf_bots.x12': '1 interchange(s): 856×2',
  '856_004060_SOI_node-x12.edi': '1 interchange(s): 856×1',
  '860_004010_malformed_oopfactory.txt': '1 interchange(s): 860×1; GW_X12_SET_TRAILER@SE, GW_X12_ENVELOPE@ISA06',
  '997_005010_extra-delimiters-invalid_staedi.edi': '1 interchange(s): 997×1',
  '997_005010_invalid-codes_staedi.edi': '1 interchange(s): 997×1',
  '997_005010_simple_staedi.edi': '1 interchange(s): 997×1',
  '997_005010_three-interchanges_staedi.edi': '3 interchange(s): 997×3',
  '999_005010_bang-repetition-separator_pyx12.txt': '1 interchange(s): 999×1',
  '999_005010_invalid_staedi.edi': '1 interchange(s): 999×1; GW_X12_SET_TRAILER@SE',
  '999_005010_simple_staedi.edi': '1 interchange(s): 999×1',
  '999_005010_two-groups_pyx12.txt': '1 interchange(s): 999×4',
  'TA1_004010_two-TA1_oopfactory.txt': '1 interchange(s): TA1×2',
  'TA1_005010_gt-element_CR-terminator_oopfactory.txt': '1 interchange(s): TA1×1',
  'TA1_005010_interchange-ack_staedi.txt': '1 interchange(s): TA1×1',
  'envelope_missing-ISA_gozer.txt': '0 interchange(s); refused GW_X12_ENVELOPE@ISA',
  'envelope_no-segment-terminator_gozer.txt': '0 interchange(s); refused GW_X12_ENVELOPE@ISA',
  'mailbag_mixed-interchanges_bots.x12': '8 interchange(s): 820×2 850×11 997×1; GW_X12_SET_TRAILER@ST, GW_X12_GROUP@GS',
};

function outcome(bytes: Buffer): { summary: string; reasons: string[] } {
  const sets: string[] = [];
  const problems: string[] = [];
  const reasons: string[] = [];
  let interchanges = 0;
  let ta1 = 0;
  const note = (p: { code: string; message: string; location?: Parameters<typeof describeLocation>[0] }, label: string) => {
    problems.push(label);
    reasons.push(`${p.code}: ${p.message} [${describeLocation(p.location)}]`);
  };
  for (const ev of readX12(bytes)) {
    if (ev.kind === 'set') {
      sets.push(ev.set.id);
      for (const p of ev.set.problems) note(p, `${p.code}@${p.location?.segment}`);
    } else if (ev.kind === 'group-end') {
      for (const p of ev.group.problems) note(p, `${p.code}@${p.location?.segment}`);
    } else if (ev.kind === 'interchange-end') {
      interchanges++;
      ta1 += ev.interchange.ta1.length;
      for (const p of ev.interchange.problems)
        note(p, `${p.code}@${p.location?.segment}${p.location?.element ? String(p.location.element).padStart(2, '0') : ''}`);
    } else if (ev.kind === 'fatal') {
      note(ev.problem, `refused ${ev.problem.code}@${ev.problem.location?.segment ?? `line ${ev.problem.location?.line}`}`);
    }
  }
  const counts = Object.entries(sets.reduce((a: Record<string, number>, s) => ((a[s] = (a[s] ?? 0) + 1), a), {})).map(([k, v]) => `${k}×${v}`);
  if (ta1) counts.push(`TA1×${ta1}`);
  const listed = counts.length ? `: ${counts.join(' ')}` : '';
  const noted = problems.length ? `; ${[...new Set(problems)].join(', ')}` : '';
  const summary = `${interchanges} interchange(s)${listed}${noted}`;
  return { summary, reasons };
}

describe('shared corpus: every X12 file is read, or refused with a precise reason', () => {
  const files = HAS_CORPUS ? readdirSync(path.join(CORPUS, 'x12')).sort() : [];

  it('lists exactly the expected files', function () {
    requireCorpus(this);
    assert.deepEqual(files, Object.keys(EXPECTED).sort());
  });

  for (const file of files) {
    it(file, () => {
      const { summary, reasons } = outcome(readFileSync(path.join(CORPUS, 'x12', file)));
      console.log(`      ${file}: ${summary}${reasons.length ? `\n        ${reasons.join('\n        ')}` : ''}`);
      assert.equal(summary, EXPECTED[file]);
      for (const r of reasons) assert.match(r, /\[.+\]$/, `a problem without a location: ${r}`);
    });
  }
});

describe('shared corpus: the acknowledgments generated for 856, 810 and 855 files are valid X12 that mirror the inbound envelope', () => {
  const files = HAS_CORPUS
    ? readdirSync(path.join(CORPUS, 'x12'))
        .filter((f) => /^(856|810|855)/.test(f))
        .sort()
    : [];

  for (const file of files) {
    it(file, async function () {
      requireCorpus(this);
      const config = await repoConfig();
      const partner = corpusPartner(config);
      const interpreter = new X12Interpreter(partner, config);
      const items = [...interpreter.push(readFileSync(path.join(CORPUS, 'x12', file))), ...interpreter.end()];
      const reports = items.flatMap((i) => (i.kind === 'interchange-end' ? [i.report as InterchangeReport] : []));
      assert.ok(reports.length > 0);
      let isa = 100;
      for (const report of reports) {
        const plan = planAck(report, { functional: 'auto', ta1: 'always' });
        assert.ok(plan, 'every business interchange is answered');
        const n = ackSetCount(plan);
        const { text } = renderAck(
          plan,
          {
            isa: String(isa++).padStart(9, '0'),
            gs: plan.groups.map((_, i) => String(i + 1)),
            st: Array.from({ length: n }, (_, i) => String(i + 1).padStart(4, '0')),
          },
          new Date('2026-11-23T12:00:00Z'),
          '\n',
        );
        const [ack, ...rest] = parseX12(Buffer.from(text, 'latin1'));
        assert.ok(ack);
        assert.equal(rest.length, 0);
        assert.deepEqual(ack.problems, []);
        const h = report.header;
        assert.deepEqual([ack.sender, ack.receiver], [h.receiver, h.sender], 'sender and receiver swapped');
        assert.deepEqual(ack.delimiters, h.delimiters, "the partner's delimiters");
        assert.equal(ack.standardVersion, h.standardVersion);
        assert.deepEqual(
          ack.ta1.map((s) => s.elements[0]),
          [h.control],
        );
        const business = report.groups.filter((g) => g.header.functionalId !== 'FA');
        const acks = ack.groups.flatMap((g) => g.sets);
        assert.equal(acks.length, business.length, 'one 997/999 per inbound group');
        for (const g of ack.groups) assert.deepEqual([g.problems, g.sets.flatMap((s) => s.problems)], [[], []]);
        business.forEach((g, i) => {
          const set = acks[i];
          const ak1 = set?.segments.find((s) => s.tag === 'AK1')?.elements;
          assert.deepEqual(ak1?.slice(0, 2), [g.header.functionalId, g.header.control]);
          assert.equal(set?.id, g.header.version.slice(0, 6) >= '005010' ? '999' : '997');
          assert.deepEqual(
            set?.segments.filter((s) => s.tag === 'AK2').map((s) => s.elements[1]),
            g.sets.map((s) => s.control),
          );
        });
      }
    });
  }
});
