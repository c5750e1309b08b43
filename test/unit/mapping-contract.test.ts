import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../../src/config/load.js';
import { interpret } from '../../src/pipeline/interpret.js';
import { repoConfig } from '../helpers/config.js';
import { FIXTURES } from '../helpers/corpus.js';

/**
 * Golden files: test/fixtures/<partner>/<sample> beside <sample>.expected.json. Every sample of
 * every demo partner is translated with that partner's profiles and compared in full.
 * `UPDATE_GOLDEN=1 npm test` rewrites the expected files (review the diff before committing).
 */
const FORMAT_BY_EXT: Record<string, 'x12' | 'json'> = { '.edi': 'x12', '.x12': 'x12', '.json': 'json' };

function samples(): { partner: string; file: string }[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(FIXTURES, '..', '..', 'partners', `${d.name}.yaml`)))
    .flatMap((d) => readdirSync(path.join(FIXTURES, d.name)).filter((f) => !f.endsWith('.expected.json')).map((f) => ({ partner: d.name, file: path.join(FIXTURES, d.name, f) })));
}

describe('mapping contract: golden fixtures per demo partner', () => {
  let config: GatewayConfig;
  before(async () => {
    config = await repoConfig();
  });

  const all = samples();
  it('has golden samples for both demo partners', () => {
    assert.deepEqual([...new Set(all.map((s) => s.partner))].sort(), ['acme-supply', 'northwind']);
  });

  for (const { partner, file } of all) {
    it(`${partner}/${path.basename(file)}`, () => {
      const format = FORMAT_BY_EXT[path.extname(file)];
      assert.ok(format, `no format for ${file}`);
      const profile = config.partners.get(partner);
      assert.ok(profile);
      const result = interpret(readFileSync(file), format, profile, config);
      const actual = {
        problems: result.problems,
        documents: result.documents.map((d) => ({ source: d.sourceRef, type: d.type, profile: d.profile, keys: d.keys, ...(d.canonical ? { canonical: d.canonical } : { problems: d.problems }) })),
      };
      const expectedFile = `${file}.expected.json`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
      assert.ok(existsSync(expectedFile), `missing golden file ${expectedFile}`);
      assert.deepEqual(actual, JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
});
