import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { mutate, mutation as mutationOf } from '../helpers/byte-mutations.js';
import { ERROR_CODES } from '../../src/errors.js';
import { readX12 } from '../../src/formats/x12/parse.js';
import { interpret } from '../../src/pipeline/interpret.js';
import type { GatewayConfig } from '../../src/config/load.js';
import type { PartnerProfile } from '../../src/types.js';
import { repoConfig } from '../helpers/config.js';
import { CORPUS, MAPPINGS, HAS_CORPUS } from '../helpers/corpus.js';

/**
 * Property-based: X12 files mutated at random (bytes flipped, inserted, deleted, cut short,
 * duplicated) never crash the reader or the interpreter. Every outcome is a correct read or
 * problems with a stable, documented code and a location.
 */
const fixtures = readdirSync(path.join(MAPPINGS, 'acme-supply', 'samples'))
  .filter((f) => /\.edi$/.test(f))
  .map((f) => readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', f)));
const corpus = HAS_CORPUS ? readdirSync(path.join(CORPUS, 'x12')).map((f) => readFileSync(path.join(CORPUS, 'x12', f))) : [];
const samples = [...fixtures, ...corpus];

const mutation = mutationOf(fc.integer({ min: 0, max: 255 }), 40);

const KNOWN = new Set(Object.keys(ERROR_CODES));

describe('X12 under random mutation (fast-check)', function () {
  this.timeout(120_000);
  let config: GatewayConfig;
  let partner: PartnerProfile;
  before(async () => {
    config = await repoConfig();
    partner = { ...(config.partners.get('acme-supply') as PartnerProfile), identifiers: {} };
  });

  it(`reads every mutated sample (${samples.length} samples) without a crash, reporting only catalogued codes with a location`, () => {
    fc.assert(
      fc.property(
        fc.nat({ max: samples.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 4096 }),
        (which, ms, chunk) => {
          const bytes = mutate(samples[which] as Buffer, ms);
          for (const ev of readX12(bytes, chunk)) {
            const problems =
              ev.kind === 'fatal'
                ? [ev.problem]
                : ev.kind === 'set'
                  ? ev.set.problems
                  : ev.kind === 'group-end'
                    ? ev.group.problems
                    : ev.kind === 'interchange-end'
                      ? ev.interchange.problems
                      : [];
            for (const p of problems) {
              assert.ok(KNOWN.has(p.code), p.code);
              assert.ok(p.location && Object.keys(p.location).length > 0, `no location: ${p.message}`);
              assert.ok(p.message.length > 10);
            }
          }
          const result = interpret(bytes, 'x12', partner, config);
          for (const p of [...result.problems, ...result.documents.flatMap((d) => d.problems)]) assert.ok(KNOWN.has(p.code), p.code);
          for (const d of result.documents) assert.equal(d.canonical === null, d.problems.length > 0, 'a document is either canonical or has problems');
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 400) },
    );
  });

  it('gives the same events for any chunking of a mutated sample', () => {
    fc.assert(
      fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { maxLength: 3 }), fc.integer({ min: 1, max: 300 }), (which, ms, chunk) => {
        const bytes = mutate(samples[which] as Buffer, ms);
        assert.deepEqual([...readX12(bytes, chunk)], [...readX12(bytes)]);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 200) },
    );
  });

  it('survives garbage: random bytes, a 20 MB stream without a terminator, non-ASCII in elements', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), (junk) => {
        const events = [...readX12(Buffer.from(junk))];
        assert.ok(events.length > 0);
      }),
      { numRuns: 300 },
    );
    const isa = (fixtures[0] as Buffer).subarray(0, 106);
    const noTerminator = Buffer.concat([isa, Buffer.alloc(20 << 20, 0x41)]);
    const events = [...readX12(noTerminator)];
    const fatal = events.find((e) => e.kind === 'fatal');
    assert.ok(fatal && fatal.kind === 'fatal');
    assert.equal(fatal.problem.code, 'GW_X12_SYNTAX');
    assert.match(fatal.problem.message, /No segment terminator "~" within 1048576 bytes/);
    const soi = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));
    const utf8 = Buffer.from(soi.toString('latin1').replace('BLUE WIDGET', 'BLAUES WIDGET ÄÖÜ – 青'), 'utf8');
    const set = [...readX12(utf8)].find((e) => e.kind === 'set');
    assert.ok(set && set.kind === 'set');
    assert.ok(
      set.set.segments.some((s) => s.elements.includes('BLAUES WIDGET ÄÖÜ – 青')),
      'UTF-8 inside an element is kept',
    );
  });
});
