import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../../src/config/load.js';
import type { OutboundProfile } from '../../src/mapping/profile.js';
import { renderOutbound } from '../../src/mapping/render.js';
import { renderedText, SAMPLE_CONTEXT, samplePartner } from '../../src/pipeline/workbench.js';
import { interpret } from '../../src/pipeline/interpret.js';
import type { PartnerProfile, SourceFormat } from '../../src/types.js';
import { DEMO_PARTNERS, repoConfig } from '../helpers/config.js';
import { MAPPINGS, missingGolden } from '../helpers/corpus.js';

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
    .flatMap((d) =>
      readdirSync(path.join(MAPPINGS, d.name, 'samples'), { withFileTypes: true })
        // EDIFACT samples (.edifact) are read by test/unit/edifact-mapping.test.ts.
        .filter((f) => f.isFile() && !f.name.endsWith('.expected.json') && !/\.edifact(\.canonical\.json)?$/.test(f.name))
        .map((f) => f.name)
        .sort()
        .map((f) => ({ folder: d.name, file: path.join(MAPPINGS, d.name, 'samples', f) })),
    );
}

/** The partner a folder's samples are read as. */
function contractPartner(config: GatewayConfig, folder: string): PartnerProfile {
  const inbound = [...config.mappings.values()].filter((m) => m.id.startsWith(`${folder}/`)).map((m) => ({ type: m.target.type, mapping: m.id }));
  return config.partners.get(folder) ?? samplePartner(folder, inbound);
}

/** Outbound samples: canonical documents in samples/outbound/, each rendered by the folder's outbound profiles. */
function outboundSamples(): { folder: string; file: string }[] {
  return readdirSync(MAPPINGS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(MAPPINGS, d.name, 'samples', 'outbound')))
    .flatMap((d) =>
      readdirSync(path.join(MAPPINGS, d.name, 'samples', 'outbound'))
        .filter((f) => /\.json$/.test(f) && !f.includes('.expected'))
        .sort()
        .map((f) => ({ folder: d.name, file: path.join(MAPPINGS, d.name, 'samples', 'outbound', f) })),
    );
}

/** The outbound profiles a folder's samples are rendered with: its partner's, or all of the folder's own. */
function outboundProfiles(config: GatewayConfig, folder: string): OutboundProfile[] {
  const partner = config.partners.get(folder);
  const ids = partner ? partner.outbound.map((o) => o.mapping) : [...config.outbound.keys()].filter((id) => id.startsWith(`${folder}/`));
  return ids.map((id) => config.outbound.get(id) as OutboundProfile);
}

describe('mapping contract: samples and expected outputs in every mappings/ folder', () => {
  let config: GatewayConfig;
  before(async () => {
    config = await repoConfig();
  });

  const all = samples();
  it('covers every demo partner and every source format', () => {
    // A partner on EDIFACT has .edifact samples, read by test/unit/edifact-mapping.test.ts.
    const hasEdifact = (p: string) =>
      existsSync(path.join(MAPPINGS, p, 'samples')) && readdirSync(path.join(MAPPINGS, p, 'samples')).some((f) => f.endsWith('.edifact'));
    for (const p of DEMO_PARTNERS) assert.ok(all.some((s) => s.folder === p) || hasEdifact(p), `partner ${p} has no samples in mappings/${p}/samples`);
    assert.deepEqual([...new Set(all.map((s) => FORMAT_BY_EXT[path.extname(s.file)]))].sort(), ['csv', 'json', 'x12', 'xml']);
  });

  for (const { folder, file } of outboundSamples()) {
    it(`${folder}/samples/outbound/${path.basename(file)} rendered by every outbound profile`, () => {
      const profiles = outboundProfiles(config, folder);
      assert.ok(profiles.length, `mappings/${folder} has outbound samples but no outbound profile`);
      for (const profile of profiles) {
        const rendered = renderOutbound(profile, JSON.parse(readFileSync(file, 'utf8')), SAMPLE_CONTEXT);
        assert.deepEqual(rendered.problems, []);
        const text = renderedText(rendered);
        const expectedFile = `${file}.${profile.id.split('/')[1]}.expected.${rendered.format}`;
        if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, text);
        if (!existsSync(expectedFile)) assert.fail(missingGolden(expectedFile));
        assert.equal(text, readFileSync(expectedFile, 'utf8'), `${profile.id} renders ${path.basename(file)} differently`);
      }
    });
  }

  for (const { folder, file } of all) {
    it(`${folder}/samples/${path.basename(file)}`, () => {
      const format = FORMAT_BY_EXT[path.extname(file)];
      assert.ok(format, `no format for ${file}`);
      const result = interpret(readFileSync(file), format, contractPartner(config, folder), config, path.basename(file));
      const actual = {
        problems: result.problems,
        documents: result.documents.map((d) => ({
          source: d.sourceRef,
          type: d.type,
          profile: d.profile,
          keys: d.keys,
          ...(d.canonical ? { canonical: d.canonical } : { problems: d.problems }),
        })),
      };
      const expectedFile = `${file}.expected.json`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
      if (!existsSync(expectedFile)) assert.fail(missingGolden(expectedFile));
      assert.deepEqual(actual, JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
});
