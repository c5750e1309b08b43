import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { contrlBody, type EdifactReceipt } from '../../src/formats/edifact/contrl.js';
import { parseEdifact } from '../../src/formats/edifact/parse.js';
import { MAX_ELEMENT_PROBLEMS } from '../../src/formats/edifact/element-check.js';
import { checkMessageStructure } from '../../src/formats/edifact/structure-check.js';
import type { EdifactOutSegment } from '../../src/formats/edifact/types.js';
import { interpretEdifact } from '../../src/pipeline/interpret-edifact.js';
import type { PartnerProfile } from '../../src/types.js';
import { corpusPartner, repoConfig } from '../helpers/config.js';
import { MAPPINGS } from '../helpers/corpus.js';

/**
 * The structure check of DESADV, INVOIC, ORDERS and ORDRSP D.96A against the directory's segment
 * tables, on the standard samples and on mutations of them (a segment moved, a mandatory one
 * deleted, one repeated past its maximum), and what the CONTRL says about each.
 */

const SAMPLES = path.join(MAPPINGS, 'edifact-standard', 'samples');

/** The body (segments between UNH and UNT) of a sample, one segment a line. */
function body(file: string): string[] {
  const lines = readFileSync(path.join(SAMPLES, file), 'latin1').split('\n').filter(Boolean);
  const unh = lines.findIndex((l) => l.startsWith('UNH+'));
  const unt = lines.findIndex((l) => l.startsWith('UNT+'));
  return lines.slice(unh + 1, unt);
}

/** One interchange around one message, UNT counting the segments. `test`: UNB 0035 = 1. */
function interchange(type: string, segments: string[], test = false): Buffer {
  const unb = `UNB+UNOC:3+4012345000009:14+5412345000013:14+261128:1400+IC1++${type}${test ? '++++1' : ''}'`;
  const lines = ["UNA:+.? '", unb, `UNH+1+${type}:D:96A:UN'`, ...segments, `UNT+${segments.length + 2}+1'`, "UNZ+1+IC1'"];
  return Buffer.from(`${lines.join('\n')}\n`, 'latin1');
}

const ORDERS = readFileSync(path.join(SAMPLES, 'outbound', 'purchase-order.json.orders-d96a.expected.edifact'), 'latin1')
  .split('\n')
  .filter(Boolean);

const SAMPLE: Record<string, string[]> = {
  DESADV: body('desadv-d96a.edifact'),
  INVOIC: body('invoic-d96a.edifact'),
  ORDRSP: body('ordrsp-d96a.edifact'),
  ORDERS,
};

/** Moves the first segment starting with `what` to just after the first starting with `after`. */
function move(segments: string[], what: string, after: string): string[] {
  const i = segments.findIndex((s) => s.startsWith(what));
  const moved = segments.filter((_, k) => k !== i);
  const j = moved.findIndex((s) => s.startsWith(after));
  return [...moved.slice(0, j + 1), segments[i] as string, ...moved.slice(j + 1)];
}
const without = (segments: string[], what: string) => segments.filter((s) => !s.startsWith(what));
/** The segments with the first starting with `what` replaced by `by`. */
const replace = (segments: string[], what: string, by: string) => {
  const i = segments.findIndex((s) => s.startsWith(what));
  return segments.map((s, k) => (k === i ? by : s));
};
const insertAfter = (segments: string[], after: string, ...added: string[]) => {
  const j = segments.findIndex((s) => s.startsWith(after));
  return [...segments.slice(0, j + 1), ...added, ...segments.slice(j + 1)];
};

const text = (s: EdifactOutSegment) =>
  `${s.tag}+${s.elements
    .map((e) => (Array.isArray(e) ? e.join(':').replace(/:+$/, '') : e))
    .join('+')
    .replace(/\++$/, '')}`;

let partner: PartnerProfile;
before(async () => {
  partner = corpusPartner(await repoConfig());
});

/** The report segments of the CONTRL answering the interchange. */
function contrl(bytes: Buffer, p: PartnerProfile = partner): string[] {
  const [receipt] = interpretEdifact(bytes, p, []).edifact;
  return contrlBody(receipt as EdifactReceipt, false).map(text);
}

const problems = (type: string, segments: string[]) => checkMessageStructure(parseEdifact(interchange(type, segments)).messages[0]!);

describe('EDIFACT structure check (D.96A segment tables)', () => {
  for (const [type, segments] of Object.entries(SAMPLE))
    it(`finds nothing wrong in the standard ${type} sample`, () => {
      assert.deepEqual(problems(type, segments), []);
      assert.deepEqual(contrl(interchange(type, segments)), ['UCI+IC1+4012345000009:14+5412345000013:14+7']);
    });

  it('DESADV: a header DTM moved behind the parties is not allowed there (15), at its position and line', () => {
    const moved = move(SAMPLE.DESADV!, 'DTM+11', 'NAD+DP');
    const [p, ...rest] = problems('DESADV', moved);
    assert.deepEqual(rest, []);
    assert.equal(p?.code, 'GW_EDIFACT_SEGMENT_POSITION');
    assert.deepEqual([p?.location?.segment, p?.location?.position, p?.location?.line], ['DTM', 11, 13]);
    assert.match(p?.message ?? '', /DESADV D\.96A message 1: DTM at position 11, line 13 is not allowed in this position \(after NAD in segment group 2\)/);
    assert.deepEqual(contrl(interchange('DESADV', moved)), ['UCI+IC1+4012345000009:14+5412345000013:14+7', 'UCM+1+DESADV:D:96A:UN+4', 'UCS+11+15']);
  });

  it('DESADV: without BGM, the mandatory segment is missing right after UNH (13 at position 1)', () => {
    const [p, ...rest] = problems('DESADV', without(SAMPLE.DESADV!, 'BGM'));
    assert.deepEqual(rest, []);
    assert.equal(p?.code, 'GW_EDIFACT_SEGMENT_MISSING');
    assert.match(p?.message ?? '', /mandatory BGM of the message is missing after UNH \(position 1, line 3\)/);
    assert.deepEqual(contrl(interchange('DESADV', without(SAMPLE.DESADV!, 'BGM'))).slice(1), ['UCM+1+DESADV:D:96A:UN+4', 'UCS+1+13']);
  });

  it('DESADV: a second DTM in SG1 (at most 1) repeats too often (35)', () => {
    const repeated = insertAfter(SAMPLE.DESADV!, 'DTM+171', "DTM+171:20261121:102'");
    assert.deepEqual(
      problems('DESADV', repeated).map((p) => [p.code, p.edifact?.error, p.location?.position]),
      [['GW_EDIFACT_SEGMENT_REPEATED', '35', 9]],
    );
    assert.deepEqual(contrl(interchange('DESADV', repeated)).slice(1), ['UCM+1+DESADV:D:96A:UN+4', 'UCS+9+35']);
  });

  it('INVOIC: without UNS the mandatory section control is missing after the last line segment (13)', () => {
    const invoic = without(SAMPLE.INVOIC!, 'UNS');
    const [p, ...rest] = problems('INVOIC', invoic);
    assert.deepEqual(rest, []);
    assert.deepEqual([p?.code, p?.location?.segment, p?.location?.position], ['GW_EDIFACT_SEGMENT_MISSING', 'MOA', 30]);
    assert.deepEqual(contrl(interchange('INVOIC', invoic)).slice(1), ['UCM+1+INVOIC:D:96A:UN+4', 'UCS+30+13']);
  });

  it('INVOIC: without the totals, the mandatory segment group 48 (MOA) is missing at the end', () => {
    const invoic = SAMPLE.INVOIC!.slice(0, SAMPLE.INVOIC!.indexOf("CNT+2:2'") + 1);
    const found = problems('INVOIC', invoic);
    assert.deepEqual(
      found.map((p) => [p.code, p.edifact?.error, p.location?.segment, p.location?.position]),
      [['GW_EDIFACT_SEGMENT_MISSING', '13', 'CNT', 32]],
    );
    assert.match(found[0]?.message ?? '', /mandatory segment group 48 \(MOA\) of the message is missing after CNT/);
  });

  it('ORDRSP: a second AJT group (at most 1) repeats too often (36); an unknown tag is not supported (15)', () => {
    const ordrsp = insertAfter(SAMPLE.ORDRSP!, 'DTM+171', "AJT+1'", "AJT+2'", "ZZZ+1'");
    assert.deepEqual(
      problems('ORDRSP', ordrsp).map((p) => [p.code, p.edifact?.error, p.location?.segment, p.location?.position]),
      [
        ['GW_EDIFACT_SEGMENT_REPEATED', '36', 'AJT', 8],
        ['GW_EDIFACT_SEGMENT_POSITION', '15', 'ZZZ', 9],
      ],
    );
    assert.match(problems('ORDRSP', ordrsp)[1]?.message ?? '', /ZZZ at position 9, line 11 is not a segment of ORDRSP D\.96A/);
    assert.deepEqual(contrl(interchange('ORDRSP', ordrsp)).slice(1), ['UCM+1+ORDRSP:D:96A:UN+4', 'UCS+8+36', 'UCS+9+15']);
  });

  it('ORDERS: the currency moved behind the transport group is out of place (15)', () => {
    const orders = move(ORDERS, 'CUX', 'TDT');
    assert.deepEqual(
      problems('ORDERS', orders).map((p) => [p.code, p.location?.segment, p.location?.position]),
      [['GW_EDIFACT_SEGMENT_POSITION', 'CUX', 11]],
    );
    assert.deepEqual(contrl(interchange('ORDERS', orders)).slice(1), ['UCM+1+ORDERS:D:96A:UN+4', 'UCS+11+15']);
  });

  it('a rejected message is not mapped: its document carries the structure problem', () => {
    const moved = move(SAMPLE.DESADV!, 'DTM+11', 'NAD+DP');
    const { documents } = interpretEdifact(interchange('DESADV', moved), partner, []);
    assert.equal(documents.length, 1);
    assert.equal(documents[0]?.canonical, null);
    assert.deepEqual(
      documents[0]?.problems.map((p) => p.code),
      ['GW_EDIFACT_SEGMENT_POSITION'],
    );
  });

  it('does not check messages it has no segment table for (D.96B)', () => {
    const bytes = Buffer.from(interchange('DESADV', ["ZZZ+1'"]).toString('latin1').replace(':96A:', ':96B:'), 'latin1');
    assert.deepEqual(checkMessageStructure(parseEdifact(bytes).messages[0]!), []);
  });
});

describe('EDIFACT element check (D.96A segment layouts)', () => {
  /** 0085, segment, position, element, component of each element problem. */
  const found = (type: string, segments: string[]) =>
    problems(type, segments).map((p) => [p.edifact?.error, p.location?.segment, p.location?.position, p.location?.element, p.location?.component]);

  it('a letter in a quantity is an invalid type of character (37), named by segment, position, element, component, line and value', () => {
    const desadv = replace(SAMPLE.DESADV!, 'QTY+12:24', "QTY+12:12A:PCE'");
    const [p, ...rest] = problems('DESADV', desadv);
    assert.deepEqual(rest, []);
    assert.equal(p?.code, 'GW_EDIFACT_ELEMENT_VALUE');
    assert.deepEqual([p?.location?.segment, p?.location?.position, p?.location?.element, p?.location?.component, p?.location?.line], ['QTY', 22, 1, 2, 24]);
    assert.match(p?.message ?? '', /DESADV D\.96A message 1: QTY \(position 22, line 24\) element 1 component 2 \(6060 n\.\.15\) "12A" holds "A"/);
    assert.deepEqual(contrl(interchange('DESADV', desadv)).slice(1), ['UCM+1+DESADV:D:96A:UN+4', 'UCS+22', 'UCD+37+1:2']);
  });

  it('an empty mandatory element (13 at the element) or component (13 at element:component)', () => {
    const desadv = replace(replace(SAMPLE.DESADV!, 'CPS+1', "CPS+'"), 'QTY+12:24', "QTY+12::PCE'");
    assert.deepEqual(found('DESADV', desadv), [
      ['13', 'CPS', 13, 1, undefined],
      ['13', 'QTY', 22, 1, 2],
    ]);
    assert.deepEqual(problems('DESADV', desadv)[1]?.code, 'GW_EDIFACT_ELEMENT_MISSING');
    assert.deepEqual(contrl(interchange('DESADV', desadv)).slice(2), ['UCS+13', 'UCD+13+1', 'UCS+22', 'UCD+13+1:2']);
  });

  it('too long (39), too short for a fixed length (40), more components (16) or elements (16) than the layout', () => {
    const order = `RFF+ON:${'X'.repeat(36)}'`;
    const desadv = replace(replace(replace(SAMPLE.DESADV!, 'RFF+ON', order), 'QTY+12:24', "QTY+12:24:PCE:X'"), 'DTM+137', "DTM+137:20261128:102+X'");
    assert.deepEqual(found('DESADV', desadv), [
      ['16', 'DTM', 3, 2, undefined],
      ['39', 'RFF', 7, 1, 2],
      ['16', 'QTY', 22, 1, 4],
    ]);
    assert.deepEqual(contrl(interchange('DESADV', desadv)).slice(2), ['UCS+3', 'UCD+16+2', 'UCS+7', 'UCD+39+1:2', 'UCS+22', 'UCD+16+1:4']);
    // DGS C234 7124 UNDG number is n4: three digits are too short. The line's SG17, after its RFF.
    const at = SAMPLE.DESADV!.indexOf("CPS+3+1'");
    const dangerous = [...SAMPLE.DESADV!.slice(0, at), "DGS+ADR+3:1+123'", ...SAMPLE.DESADV!.slice(at)];
    assert.deepEqual(found('DESADV', dangerous), [['40', 'DGS', 24, 3, 1]]);
  });

  it('two errors in one segment: one UCS, a UCD each', () => {
    const desadv = replace(SAMPLE.DESADV!, 'QTY+12:24', "QTY+12:1a:PCE:X'");
    assert.deepEqual(contrl(interchange('DESADV', desadv)).slice(2), ['UCS+22', 'UCD+37+1:2', 'UCD+16+1:4']);
  });

  it('numbers: a leading minus and one decimal mark, comma or full stop, do not count toward the length', () => {
    const qty = (value: string) => found('DESADV', replace(SAMPLE.DESADV!, 'QTY+12:24', `QTY+12:${value}:PCE'`));
    assert.deepEqual(qty('-1234567890123.45'), []);
    assert.deepEqual(qty('1234567890123456'), [['39', 'QTY', 22, 1, 2]]);
    assert.deepEqual(qty('.5'), [['38', 'QTY', 22, 1, 2]]);
    assert.deepEqual(qty('1.2.3'), [['19', 'QTY', 22, 1, 2]]);
    assert.deepEqual(qty('1-2'), [['37', 'QTY', 22, 1, 2]]);
    // A UNA naming the comma as decimal mark: 24,5 is a quantity, and the CONTRL accepts the message.
    const comma = Buffer.from(
      interchange('DESADV', replace(SAMPLE.DESADV!, 'QTY+12:24', "QTY+12:24,5:PCE'"))
        .toString('latin1')
        .replace("UNA:+.? '", "UNA:+,? '"),
      'latin1',
    );
    assert.deepEqual(checkMessageStructure(parseEdifact(comma).messages[0]!), []);
    assert.deepEqual(contrl(comma), ['UCI+IC1+4012345000009:14+5412345000013:14+7']);
  });

  it('INVOIC: UNS 0081 is D or S (12); syntax 4: an element repeated where the directory has it once (35)', () => {
    assert.deepEqual(found('INVOIC', replace(SAMPLE.INVOIC!, 'UNS', "UNS+X'")), [['12', 'UNS', 31, 1, undefined]]);
    const repeated = Buffer.from(
      interchange('INVOIC', replace(SAMPLE.INVOIC!, 'DTM+35', "DTM+35:20261128:102*35:20261129:102'"))
        .toString('latin1')
        .replace("UNA:+.? '", "UNA:+.?*'")
        .replace('UNOC:3', 'UNOC:4')
        .replace('261128:1400', '20261128:1400'),
      'latin1',
    );
    assert.deepEqual(contrl(repeated).slice(1), ['UCM+1+INVOIC:D:96A:UN+4', 'UCS+4', 'UCD+35+1']);
  });

  it(`reports at most ${MAX_ELEMENT_PROBLEMS} element problems a message, and a rejected message is not mapped`, () => {
    const desadv = [...SAMPLE.DESADV!.slice(0, -1), ...Array.from({ length: 30 }, () => "QTY+12:X'")];
    assert.equal(problems('DESADV', desadv).filter((p) => p.code.startsWith('GW_EDIFACT_ELEMENT')).length, MAX_ELEMENT_PROBLEMS);
    const { documents } = interpretEdifact(interchange('DESADV', replace(SAMPLE.DESADV!, 'QTY+12:24', "QTY+12:12A:PCE'")), partner, []);
    assert.equal(documents[0]?.canonical, null);
    assert.deepEqual(
      documents[0]?.problems.map((p) => p.code),
      ['GW_EDIFACT_ELEMENT_VALUE'],
    );
  });
});

describe('CONTRL action 8 and error 25', () => {
  const moved = () => move(SAMPLE.DESADV!, 'DTM+11', 'NAD+DP');

  it('contrlReport: receipt answers UCI action 8 only, whatever the messages hold', () => {
    const receipt = { ...partner, edifact: { ...partner.edifact, contrlReport: 'receipt' as const } };
    assert.deepEqual(contrl(interchange('DESADV', moved()), receipt), ['UCI+IC1+4012345000009:14+5412345000013:14+8']);
  });

  it('testInterchanges: refuse rejects a test interchange whole with error 25 on UNB 0035; accept takes it', () => {
    const refusing = { ...partner, edifact: { ...partner.edifact, testInterchanges: 'refuse' as const } };
    const test = interchange('DESADV', SAMPLE.DESADV!, true);
    assert.deepEqual(contrl(test, refusing), ['UCI+IC1+4012345000009:14+5412345000013:14+4+25+UNB+11']);
    const { problems: refused, documents } = interpretEdifact(test, refusing, []);
    assert.deepEqual(
      refused.map((p) => [p.code, p.edifact?.error, p.location?.element]),
      [['GW_EDIFACT_ENVELOPE', '25', 11]],
    );
    assert.equal(documents.length, 0);
    assert.deepEqual(contrl(test), ['UCI+IC1+4012345000009:14+5412345000013:14+7']);
    assert.deepEqual(contrl(interchange('DESADV', SAMPLE.DESADV!), refusing), ['UCI+IC1+4012345000009:14+5412345000013:14+7']);
  });
});
