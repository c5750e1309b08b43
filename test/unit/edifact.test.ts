import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { mutate, mutation as mutationOf } from '../helpers/byte-mutations.js';
import { ERROR_CODES, isGatewayError, type Problem } from '../../src/errors.js';
import { contrlBody, contrlInterchange } from '../../src/formats/edifact/contrl.js';
import { parseEdifact, parseEdifactInterchanges, segmentValue } from '../../src/formats/edifact/parse.js';
import type { EdifactSeparators } from '../../src/formats/edifact/types.js';
import { writeEdifact } from '../../src/formats/edifact/write.js';
import { formatOfFile, interpret } from '../../src/pipeline/interpret.js';
import { interpretEdifact } from '../../src/pipeline/interpret-edifact.js';
import type { PartnerProfile } from '../../src/types.js';
import { corpusPartner, repoConfig } from '../helpers/config.js';
import { CORPUS, FIXTURES, HAS_CORPUS, MAPPINGS } from '../helpers/corpus.js';

const text = (s: string) => Buffer.from(s, 'latin1');
const UNB = "UNB+UNOA:3+SENDER:14+RECEIVER:14+261130:1200+REF1'";
const MSG = "UNH+1+DESADV:D:96A:UN:EAN005'BGM+351+X'UNT+3+1'";

function refusal(input: string): Problem {
  try {
    parseEdifact(text(input));
  } catch (err) {
    assert.ok(isGatewayError(err));
    return err.toProblem();
  }
  assert.fail('the input was read');
}

describe('EDIFACT reader', () => {
  it('reads the envelope: parties, reference, 0031, 0035, messages with their ids', () => {
    const ic = parseEdifact(text(`${UNB.replace("REF1'", "REF1++APP++1++1'")}${MSG}UNZ+1+REF1'`));
    assert.deepEqual(ic.sender, { id: 'SENDER', qualifier: '14' });
    assert.equal(ic.controlRef, 'REF1');
    assert.equal(ic.ackRequested, true);
    assert.equal(ic.test, true);
    assert.equal(ic.applicationRef, 'APP');
    assert.deepEqual(ic.problems, []);
    const [m] = ic.messages;
    assert.deepEqual([m?.ref, m?.type, m?.version, m?.release, m?.agency, m?.association], ['1', 'DESADV', 'D', '96A', 'UN', 'EAN005']);
    assert.deepEqual(m?.segments[0]?.location, { segment: 'BGM', segmentIndex: 3, line: 1, column: 91, offset: 90, position: 2, transaction: '1' });
  });

  it('checks UNT, UNE and UNZ counts and references, each problem located', () => {
    const ic = parseEdifact(text(`${UNB}UNG+DESADV+S+R+261130:1200+7+UN+D:96A'UNH+1+DESADV:D:96A:UN'BGM+351'UNT+4+2'UNE+2+8'UNZ+2+REF9'`));
    const codes = (ps: Problem[]) => ps.map((p) => `${p.code}/${p.edifact?.error}@${p.location?.segment}${p.location?.element}`);
    assert.deepEqual(codes(ic.messages[0]?.problems ?? []), ['GW_EDIFACT_MESSAGE_TRAILER/29@UNT1', 'GW_EDIFACT_MESSAGE_TRAILER/28@UNT2']);
    assert.deepEqual(codes(ic.groups[0]?.problems ?? []), ['GW_EDIFACT_GROUP/29@UNE1', 'GW_EDIFACT_GROUP/28@UNE2']);
    assert.deepEqual(codes(ic.problems), ['GW_EDIFACT_ENVELOPE/29@UNZ1', 'GW_EDIFACT_ENVELOPE/28@UNZ2']);
  });

  it('refuses segments after the UNZ, and releases the character after a wrapped line break', () => {
    const after = parseEdifact(text(`${UNB}${MSG}UNZ+1+REF1'XYZ+1'`));
    assert.deepEqual(
      after.problems.map((p) => [p.code, p.edifact?.error, p.location?.segment, p.location?.segmentIndex]),
      [['GW_EDIFACT_SYNTAX', '33', 'XYZ', 6]],
    );
    const wrapped = parseEdifact(text(`${UNB}UNH+1+DESADV:D:96A:UN'FTX+AAA+++A?\n+B'UNT+3+1'UNZ+1+REF1'`));
    assert.equal(segmentValue(wrapped.messages[0]!.segments[0]!, 4), 'A+B');
  });

  it('reports a missing UNT and a missing UNZ', () => {
    const ic = parseEdifact(text(`${UNB}UNH+1+DESADV:D:96A:UN'BGM+351'`));
    assert.equal(ic.messages[0]?.problems[0]?.code, 'GW_EDIFACT_MESSAGE_TRAILER');
    assert.equal(ic.problems.at(-1)?.location?.segment, 'UNZ');
  });

  it('refuses what cannot be split, saying where', () => {
    assert.deepEqual(refusal('ISA*00*'), { code: 'GW_EDIFACT_SYNTAX', message: refusal('ISA*00*').message, location: { line: 1, column: 1, offset: 0 } });
    assert.equal(refusal('UNA:+.? ').location?.segment, 'UNA');
    assert.equal(refusal("UNA::.? 'UNB").code, 'GW_EDIFACT_SYNTAX');
    assert.match(refusal('UNB+UNOA:3+S+R+261130:1200+1+no terminator at all').message, /No segment terminator/);
    assert.deepEqual(refusal(`${UNB}\nbgm+1'`).location, { line: 2, column: 1, offset: 51 });
  });

  it('decodes by syntax identifier: UNOW as UTF-8, UNOX refused, invalid UTF-8 located', () => {
    const utf8 = parseEdifact(Buffer.from(`UNB+UNOW:4+S+R+20261130:1200+1'UNH+1+ORDERS:D:03B:UN'FTX+AAA+++Grüße ☃'UNT+3+1'UNZ+1+1'`, 'utf8'));
    assert.equal(segmentValue(utf8.messages[0]!.segments[0]!, 4), 'Grüße ☃');
    const unox = parseEdifact(text(`UNB+UNOX:3+S+R+261130:1200+1'UNZ+0+1'`));
    assert.deepEqual(
      unox.problems.map((p) => [p.code, p.edifact?.error]),
      [['GW_EDIFACT_CHARSET', '2']],
    );
    const bad = parseEdifact(text(`UNB+UNOW:4+S+R+20261130:1200+1'UNH+1+ORDERS:D:03B:UN'FTX+AAA+++ab\xff'UNT+3+1'UNZ+1+1'`));
    assert.deepEqual(bad.messages[0]?.problems[0]?.location, {
      segment: 'FTX',
      segmentIndex: 3,
      line: 1,
      column: 66,
      offset: 65,
      element: 4,
      position: 2,
      transaction: '1',
    });
  });

  it('is recognised by its first bytes, as the SFTP and AS2 doors see files', () => {
    assert.deepEqual(formatOfFile(text("UNA:+.? 'UNB+UNOC:3")), { format: 'edifact', contentType: 'application/edifact' });
    assert.equal(formatOfFile(text('\xef\xbb\xbf\r\nUNB+UNOA:3+S')).format, 'edifact');
    assert.equal(formatOfFile(text('ISA*00*')).format, 'x12');
  });

  it('reads level B information separators and a UTF-8 byte-order mark', () => {
    const ic = parseEdifact(text('\xef\xbb\xbfUNB\x1dUNOB\x1f3\x1dS\x1dR\x1d261130\x1f1200\x1d1\x1cUNZ\x1d0\x1d1\x1c'));
    assert.deepEqual(ic.problems, []);
    assert.equal(ic.separators.element, '\x1d');
  });
});

describe('EDIFACT interpretation', () => {
  it("maps each message with the partner's EDIFACT profile, as its sample expects (nordlicht: DESADV and INVOIC)", async () => {
    const config = await repoConfig();
    const partner = config.partners.get('nordlicht') as PartnerProfile;
    const sample = path.join(MAPPINGS, 'nordlicht', 'samples', 'desadv-and-invoic.edifact');
    const result = interpret(readFileSync(sample), 'edifact', partner, config);
    assert.deepEqual(result.problems, []);
    const expected = JSON.parse(readFileSync(`${sample}.canonical.json`, 'utf8')) as { canonical: unknown }[];
    assert.deepEqual(
      result.documents.map((d) => [d.type, d.problems, d.canonical]),
      [
        ['asn', [], expected[0]?.canonical],
        ['invoice', [], expected[1]?.canonical],
      ],
    );
  });
});

describe('CONTRL', () => {
  it('names a bad character by message, segment position and element:component (UCM 4, UCS, UCD 21)', async () => {
    const partner = corpusPartner(await repoConfig());
    const bytes = readFileSync(path.join(FIXTURES, 'edifact', 'INVOIC_D97B_invalid_staedi.edi'));
    const [receipt] = interpretEdifact(bytes, partner, []).edifact;
    assert.ok(receipt);
    assert.deepEqual(contrlBody(receipt, false), [
      { tag: 'UCI', elements: ['00000000000778', ['005435656', '1', ''], ['006415160', '1', ''], '7'] },
      { tag: 'UCM', elements: ['00000000000117', ['INVOIC', 'D', '97B', 'UN', ''], '4'] },
      { tag: 'UCS', elements: ['13'] },
      { tag: 'UCD', elements: ['21', ['1', '2']] },
    ]);
  });
});

describe('EDIFACT writer', () => {
  const separators: EdifactSeparators[] = [
    { component: ':', element: '+', decimal: '.', release: '?', repetition: null, segment: "'" },
    { component: '=', element: '*', decimal: ',', release: '?', repetition: '^', segment: '~' },
  ];
  it('writes any value so that the reader reads it back unchanged (release characters)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...separators),
        fc.array(fc.array(fc.stringMatching(/^[A-Z0-9 .,'+:?=*~^-]{1,12}$/), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 4 }),
        (sep, elements) => {
          const segs = [
            { tag: 'UNB', elements: [['UNOA', sep.repetition ? '4' : '3'], 'S', 'R', ['261130', '1200'], '1'] },
            { tag: 'UNH', elements: ['1', ['ORDERS', 'D', '96A', 'UN']] },
            { tag: 'FTX', elements },
            { tag: 'UNT', elements: ['3', '1'] },
            { tag: 'UNZ', elements: ['1', '1'] },
          ];
          const ic = parseEdifact(text(writeEdifact(segs, sep)));
          assert.deepEqual(ic.problems, []);
          const back = ic.messages[0]?.segments[0]?.elements;
          const trimmed = elements.map((e) => {
            const c = [...e];
            while (c.length > 1 && c.at(-1) === '') c.pop();
            return c;
          });
          assert.deepEqual(back?.slice(0, trimmed.length), trimmed.slice(0, back?.length));
        },
      ),
      { numRuns: 200 },
    );
  });
});

const KNOWN = new Set(Object.keys(ERROR_CODES));
const fixtureDir = path.join(FIXTURES, 'edifact');
const samples = [
  ...readdirSync(fixtureDir)
    .filter((f) => !f.endsWith('.md'))
    .map((f) => readFileSync(path.join(fixtureDir, f))),
  ...(HAS_CORPUS ? readdirSync(path.join(CORPUS, 'edifact')).map((f) => readFileSync(path.join(CORPUS, 'edifact', f))) : []),
];

// Separators, release and repetition characters, a line feed, letters, digits, UTF-8 and Latin-1 bytes, NUL.
const mutation = mutationOf(fc.constantFrom(0x27, 0x2b, 0x3a, 0x3f, 0x2a, 0x0a, 0x41, 0x31, 0xc3, 0xff, 0x00, 0x55, 0x4e), 30);

function assertCatalogued(p: Problem): void {
  assert.ok(KNOWN.has(p.code), p.code);
  assert.ok(p.location?.line, `no line: ${p.code} ${p.message}`);
  assert.ok(p.message.length > 10);
}

describe('EDIFACT under random mutation (fast-check)', function () {
  this.timeout(60_000);
  let partner: PartnerProfile;
  before(async () => {
    partner = corpusPartner(await repoConfig());
  });

  it(`reads every mutated sample (${samples.length} samples) without a crash, reporting only catalogued, located codes; its CONTRL is readable`, () => {
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, ms) => {
        const bytes = mutate(samples[which] as Buffer, ms);
        let result: ReturnType<typeof interpretEdifact>;
        try {
          result = interpretEdifact(bytes, partner, []);
        } catch (err) {
          assert.ok(isGatewayError(err), String(err));
          for (const p of err.problems) assertCatalogued(p);
          return;
        }
        for (const p of result.problems) assertCatalogued(p);
        for (const d of result.documents) for (const p of d.problems) assert.ok(KNOWN.has(p.code), p.code);
        for (const r of result.edifact) {
          const contrl = contrlInterchange(r, false, { interchange: '1', message: '1' }, new Date(), '');
          assert.equal(parseEdifactInterchanges(Buffer.from(contrl, 'latin1')).length, 1);
        }
      }),
      { numRuns: 400 },
    );
  });
});
