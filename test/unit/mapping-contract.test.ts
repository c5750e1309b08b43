import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { defaultX12Settings, type GatewayConfig } from '../../src/config/load.js';
import { interpret } from '../../src/pipeline/interpret.js';
import type { PartnerProfile, SourceFormat } from '../../src/types.js';
import { repoConfig } from '../helpers/config.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';

/**
 * Contract tests: every mappings/<folder>/samples/<sample> beside <sample>.expected.json is
 * translated and compared in full. A folder named like a partner is read with that partner's
 * profile (its identifiers and mappings); any other folder (shared maps such as x12-standard) with
 * all of its own profiles. `UPDATE_GOLDEN=1 npm test` rewrites the expected files (review the diff).
 */
const FORMAT_BY_EXT: Record<string, SourceFormat> = { '.edi': 'x12', '.x12': 'x12', '.json': 'json', '.xml': 'xml', '.csv': 'csv' };

function samples(): { folder: string; file: string }[] {
  return readdirSync(MAPPINGS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(MAPPINGS, d.name, 'samples')))
    .flatMap((d) => readdirSync(path.join(MAPPINGS, d.name, 'samples')).filter((f) => !f.endsWith('.expected.json')).sort().map((f) => ({ folder: d.name, file: path.join(MAPPINGS, d.name, 'samples', f) })));
}

/** The partner a folder's samples are read as. */
function contractPartner(config: GatewayConfig, folder: string): PartnerProfile {
  const partner = config.partners.get(folder);
  if (partner) return partner;
  const inbound = [...config.mappings.values()].filter((m) => m.id.startsWith(`${folder}/`)).map((m) => ({ type: m.target.type, mapping: m.id }));
  return { id: folder, name: folder, state: 'testing', channels: ['rest'], identifiers: {}, credentials: { apiKeys: [] }, inbound, routes: [], outbound: [], x12: defaultX12Settings(), limits: { maxBytes: Number.MAX_SAFE_INTEGER }, file: '' } as PartnerProfile;
}

describe('mapping contract: samples and expected outputs in every mappings/ folder', () => {
  let config: GatewayConfig;
  before(async () => {
    config = await repoConfig();
  });

  const all = samples();
  it('covers every demo partner and every source format', () => {
    const partners = readdirSync(path.join(REPO, 'partners')).map((f) => f.replace(/\.ya?ml$/, ''));
    for (const p of partners) assert.ok(all.some((s) => s.folder === p), `partner ${p} has no samples in mappings/${p}/samples`);
    assert.deepEqual([...new Set(all.map((s) => FORMAT_BY_EXT[path.extname(s.file)]))].sort(), ['csv', 'json', 'x12', 'xml']);
  });

  for (const { folder, file } of all) {
    it(`${folder}/samples/${path.basename(file)}`, () => {
      const format = FORMAT_BY_EXT[path.extname(file)];
      assert.ok(format, `no format for ${file}`);
      const result = interpret(readFileSync(file), format, contractPartner(config, folder), config, path.basename(file));
      const actual = {
        problems: result.problems,
        documents: result.documents.map((d) => ({ source: d.sourceRef, type: d.type, profile: d.profile, keys: d.keys, ...(d.canonical ? { canonical: d.canonical } : { problems: d.problems }) })),
      };
      const expectedFile = `${file}.expected.json`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
      assert.ok(existsSync(expectedFile), `missing expected output ${path.relative(REPO, expectedFile)} (UPDATE_GOLDEN=1 writes it; review it before committing)`);
      assert.deepEqual(actual, JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
});
