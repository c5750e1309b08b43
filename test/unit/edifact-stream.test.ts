import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { isGatewayError, type Problem } from '../../src/errors.js';
import { type EdifactInterchange, parseEdifactInterchanges, readEdifactChunks } from '../../src/formats/edifact/parse.js';
import { EdifactInterpreter, type EdifactItem } from '../../src/pipeline/interpret-edifact.js';
import type { PartnerProfile } from '../../src/types.js';
import { mutate, mutation as mutationOf } from '../helpers/byte-mutations.js';
import { corpusPartner, repoConfig } from '../helpers/config.js';
import { CORPUS, FIXTURES, HAS_CORPUS, MAPPINGS } from '../helpers/corpus.js';

/** Every EDIFACT sample: fixtures, the shared corpus, the mapping samples (nordlicht's among them). */
function samples(): { name: string; bytes: Buffer }[] {
  const dirs = [path.join(FIXTURES, 'edifact'), ...(HAS_CORPUS ? [path.join(CORPUS, 'edifact')] : [])];
  for (const folder of readdirSync(MAPPINGS)) dirs.push(path.join(MAPPINGS, folder, 'samples'));
  return dirs.flatMap((dir) => {
    let files: string[];
    try {
      files = readdirSync(dir);
    } catch {
      return [];
    }
    return files
      .filter((f) => !f.endsWith('.md') && !f.endsWith('.json') && statSync(path.join(dir, f)).isFile())
      .map((f) => ({ name: f, bytes: readFileSync(path.join(dir, f)) }))
      .filter((s) => /^\s*(\xef\xbb\xbf)?\s*UN[AB]/.test(s.bytes.subarray(0, 16).toString('latin1')));
  });
}

const SAMPLES = samples();

/** What a reading comes to: the interchanges, or the problems of the GatewayError that stopped it. */
function outcome(read: () => EdifactInterchange[]): EdifactInterchange[] | Problem[] {
  try {
    return read();
  } catch (err) {
    assert.ok(isGatewayError(err), String(err));
    return err.problems;
  }
}

/** The payload cut at the given offsets (sorted, duplicates make empty chunks). */
function cut(bytes: Buffer, at: readonly number[]): Buffer[] {
  const points = [...at].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of points) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

describe('EDIFACT read in chunks', function () {
  this.timeout(60_000);

  it(`gives the same interchanges, messages and problems as reading whole, pushed one byte at a time (${SAMPLES.length} samples)`, () => {
    // A boundary after every byte: inside UNA, between a release character and what it releases,
    // inside a UTF-8 character, a CR LF, a BOM, a segment tag.
    assert.ok(SAMPLES.some((s) => s.name === 'desadv-and-invoic.edifact'));
    for (const { name, bytes } of SAMPLES) {
      const bytewise = [...bytes].map((b) => Uint8Array.of(b));
      assert.deepEqual(
        outcome(() => readEdifactChunks(bytewise)),
        outcome(() => parseEdifactInterchanges(bytes)),
        name,
      );
    }
  });

  it('gives the same result for any sample, mutated or not, cut into random chunks (fast-check)', () => {
    const mutation = mutationOf(fc.constantFrom(0x27, 0x2b, 0x3a, 0x3f, 0x2a, 0x0a, 0x0d, 0xc3, 0xa9, 0xef, 0x00, 0x55, 0x4e, 0x41), 12);
    fc.assert(
      fc.property(fc.nat({ max: SAMPLES.length - 1 }), fc.array(mutation, { maxLength: 3 }), fc.array(fc.nat(), { maxLength: 40 }), (which, ms, cuts) => {
        const bytes = mutate((SAMPLES[which] as { bytes: Buffer }).bytes, ms);
        const at = cuts.map((c) => (bytes.length ? c % (bytes.length + 1) : 0));
        assert.deepEqual(
          outcome(() => readEdifactChunks(cut(bytes, at))),
          outcome(() => parseEdifactInterchanges(bytes)),
        );
      }),
      { numRuns: 500 },
    );
  });

  it('hands the pipeline the same documents, take-backs and receipts however the payload is cut (fast-check)', async () => {
    const partner: PartnerProfile = corpusPartner(await repoConfig());
    const items = (chunks: Buffer[]): EdifactItem[] => {
      const interpreter = new EdifactInterpreter(partner, []);
      return [...chunks.flatMap((c) => interpreter.push(c)), ...interpreter.end()];
    };
    const mutation = mutationOf(fc.constantFrom(0x27, 0x2b, 0x3a, 0x3f, 0x0a, 0x55, 0x4e, 0x5a, 0x31), 6);
    fc.assert(
      fc.property(fc.nat({ max: SAMPLES.length - 1 }), fc.array(mutation, { maxLength: 2 }), fc.array(fc.nat(), { maxLength: 20 }), (which, ms, cuts) => {
        const bytes = mutate((SAMPLES[which] as { bytes: Buffer }).bytes, ms);
        assert.deepEqual(
          items(
            cut(
              bytes,
              cuts.map((c) => c % (bytes.length + 1)),
            ),
          ),
          items([bytes]),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('reads a payload pushed one byte at a time, offsets and lines of the whole payload', () => {
    const text = "UNA:+.? '\r\nUNB+UNOW:4+S:14+R:14+20261130:1200+9'\r\n  UNH+1+DESADV:D:96A:UN'\r\nFTX+AAA+++Gr\xc3\xbc?'n\xc3+x'\r\nUNT+3+1'\r\nUNZ+1+9'\r\n";
    const bytes = Buffer.from(text, 'latin1');
    const [ic] = readEdifactChunks([...bytes].map((b) => Uint8Array.of(b)));
    const m = ic?.messages[0];
    assert.deepEqual(m?.segments[0]?.elements[3], ["Gr\xc3\xbc'n\xc3"]);
    const [bad] = m?.problems ?? [];
    assert.equal(bad?.code, 'GW_EDIFACT_CHARSET');
    assert.deepEqual([bad?.location?.line, bad?.location?.segment], [4, 'FTX']);
    assert.deepEqual(readEdifactChunks([bytes]), [ic]);
  });
});
