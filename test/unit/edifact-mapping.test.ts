import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { validateCanonical } from '../../src/canonical/index.js';
import type { GatewayConfig } from '../../src/config/load.js';
import { parseEdifact } from '../../src/formats/edifact/parse.js';
import { DESADV_D96A } from '../../src/formats/edifact/structure/desadv-d96a.js';
import { STRUCTURES } from '../../src/formats/edifact/structure/index.js';
import { type EdifactPath, edifactPaths, edifactRoot } from '../../src/mapping/edifact-source.js';
import { evaluateProfile } from '../../src/mapping/engine.js';
import { compileProfile, type CompiledProfile, type RawProfile } from '../../src/mapping/profile.js';
import type { SourceNode } from '../../src/mapping/source.js';
import { repoConfig } from '../helpers/config.js';
import { MAPPINGS, missingGolden } from '../helpers/corpus.js';

const SAMPLES = path.join(MAPPINGS, 'edifact-standard', 'samples');

const message = (file: string) => parseEdifact(readFileSync(path.join(SAMPLES, file))).messages[0] as Parameters<typeof edifactRoot>[0];

describe('mapping/edifact source', () => {
  const paths = edifactPaths(DESADV_D96A);
  const root = edifactRoot(message('desadv-d96a.edifact')) as SourceNode<EdifactPath>;

  it('places segments in their groups: lines (SG15) inside packing (SG10), their packages (SG14 GIN) beside them', () => {
    const packing = root.each(paths.selector('SG10'));
    assert.equal(packing.length, 3, 'three CPS');
    assert.deepEqual(
      packing.map((p) => p.each(paths.selector('LIN')).length),
      [0, 1, 1],
    );
    const lines = root.each(paths.selector('SG10/SG15'));
    assert.deepEqual(
      lines.map((l) => l.get(paths.value('QTY[12].01.2'))?.value),
      ['24', '2'],
    );
    assert.deepEqual(
      lines.map((l) => l.get(paths.value('^GIN[BJ].02.1'))?.value),
      ['340123450000000123', '340123450000000130'],
      'each line reads the SSCC of its own packing level',
    );
    assert.equal(lines[0]?.get(paths.value('RFF[ON].01.2'))?.value, 'PO-2026-2044', 'RFF opens SG16 below the line');
  });

  it('reads qualifiers, components, pairs and absolute paths, each value located at its segment and element', () => {
    const supplier = root.get(paths.value('NAD[SU].04.1'));
    assert.equal(supplier?.value, 'NORDLICHT LEUCHTEN GMBH');
    assert.equal(supplier?.location.segment, 'NAD');
    assert.equal(supplier?.location.element, 4);
    assert.equal(supplier?.location.component, undefined, 'component 1 is the element itself');
    assert.equal(root.get(paths.value('DTM[137].01.2'))?.location.component, 2);
    assert.equal(supplier?.location.transaction, '1');
    assert.equal(typeof supplier?.location.line, 'number');
    assert.equal(root.get(paths.value('DTM[137].01.2'))?.value, '20261128');
    assert.equal(root.get(paths.value('DTM[999].01.2')), undefined);
    const line = root.at(paths.selector('SG15')) as SourceNode<EdifactPath>;
    assert.equal(line.get(paths.value('LIN(EN)'))?.value, '4012345000023');
    assert.equal(line.get(paths.value('PIA(SA)'))?.value, 'NL-LED-40');
    assert.equal(line.get(paths.value('/SG1[ON]/RFF.01.2'))?.value, 'PO-2026-2044');
    assert.equal(line.get(paths.value('DTM[137].01.2')), undefined, 'a line does not read the message-level DTM without ^ or /');
  });

  it('locates every mapping problem at its segment, element and component in the message', async () => {
    const config = await repoConfig();
    const profile = config.mappings.get('edifact-standard/desadv-d96a') as CompiledProfile<EdifactPath>;
    const text = readFileSync(path.join(SAMPLES, 'desadv-d96a.edifact'), 'latin1')
      .replace("QTY+12:2:CS'", "QTY+12:2:XX'")
      .replace("DTM+11:20261128:102'", "DTM+11:20261131:102'");
    const m = parseEdifact(Buffer.from(text, 'latin1')).messages[0] as Parameters<typeof edifactRoot>[0];
    const { problems } = evaluateProfile(profile, edifactRoot(m) as SourceNode<EdifactPath>);
    assert.deepEqual(
      problems.map((p) => [
        p.code,
        p.location?.segment,
        p.location?.element,
        p.location?.component,
        p.location?.position,
        p.location?.transaction,
        p.location?.rule,
      ]),
      [
        ['GW_MAP_TRANSFORM', 'DTM', 1, 2, 4, '1', 'fields.shipDate'],
        ['GW_MAP_TRANSFORM', 'QTY', 1, 3, 31, '1', 'fields.orders.fields.items.fields.unit'],
      ],
    );
  });

  it('refuses a group the message does not have, naming its groups', () => {
    assert.throws(() => paths.selector('SG99'), /DESADV D96A has no segment group SG99; its groups are SG1, SG2/);
    assert.throws(() => paths.value('UNS/MOA.01'), /no segment group of DESADV D96A opens with UNS/);
    assert.throws(() => paths.value('QTY[12]'), /names no element/);
    const raw = (message: string): RawProfile => ({
      id: 't/x',
      version: 1,
      source: { format: 'edifact', message, version: 'D', release: '96A' },
      target: { type: 'asn', version: 1 },
      fields: { shipmentId: 'BGM.02' },
    });
    assert.throws(() => compileProfile(raw('IFTMIN'), 't.yaml'), /no segment-group table for IFTMIN D96A; it knows DESADV D96A, INVOIC D96A/);
    assert.throws(() => compileProfile({ ...raw('DESADV'), fields: { items: { each: 'SG25', fields: {} } } }, 't.yaml'), /has no segment group SG25/);
  });

  it('numbers every group once per structure', () => {
    for (const s of STRUCTURES) {
      const names: string[] = [];
      const walk = (g: { name: string; groups: readonly { name: string; groups: readonly unknown[] }[] }) => {
        for (const c of g.groups) {
          names.push(c.name);
          walk(c as never);
        }
      };
      walk(s.root);
      assert.equal(new Set(names).size, names.length, `${s.type}: ${names.join(' ')}`);
    }
  });
});

/** Every `mappings/<folder>/samples/*.edifact`. */
function edifactSamples(): { folder: string; file: string }[] {
  return readdirSync(MAPPINGS, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(MAPPINGS, d.name, 'samples')))
    .flatMap((d) =>
      readdirSync(path.join(MAPPINGS, d.name, 'samples'))
        .filter((f) => f.endsWith('.edifact'))
        .sort()
        .map((f) => ({ folder: d.name, file: path.join(MAPPINGS, d.name, 'samples', f) })),
    );
}

/** The profiles a folder's samples are read with: its partner's inbound ones, or the folder's own. */
function edifactProfiles(config: GatewayConfig, folder: string): CompiledProfile[] {
  const partner = config.partners.get(folder);
  const ids = partner ? partner.inbound.map((d) => d.mapping) : [...config.mappings.keys()].filter((id) => id.startsWith(`${folder}/`));
  return ids.map((id) => config.mappings.get(id) as CompiledProfile);
}

/**
 * Golden files for EDIFACT samples: each message translated by the profile of its type (message,
 * version, release) and checked against its canonical schema, beside `<sample>.canonical.json`.
 * `UPDATE_GOLDEN=1` rewrites them (review the diff).
 */
describe('mapping contract: EDIFACT samples in mappings/', () => {
  let config: GatewayConfig;
  before(async () => {
    config = await repoConfig();
  });

  for (const { folder, file } of edifactSamples()) {
    it(`${folder}/samples/${path.basename(file)}`, () => {
      const interchange = parseEdifact(readFileSync(file));
      assert.deepEqual(interchange.problems, []);
      const profiles = edifactProfiles(config, folder);
      const actual = interchange.messages.map((m) => {
        const profile = profiles.find(
          (p) => p.source.format === 'edifact' && p.source.message === m.type && p.source.version === m.version && p.source.release === m.release,
        ) as CompiledProfile<EdifactPath>;
        assert.ok(profile, `no profile for ${m.type} ${m.version}${m.release}`);
        const result = evaluateProfile(profile, edifactRoot(m) as SourceNode<EdifactPath>);
        const check = validateCanonical(profile.target.type, profile.target.version, result.document);
        assert.deepEqual(check, [], `${file}: the ${profile.target.type} breaks its canonical schema`);
        return { message: m.ref, profile: { id: profile.id, version: profile.version }, problems: result.problems, canonical: result.document };
      });
      const expectedFile = `${file}.canonical.json`;
      if (process.env.UPDATE_GOLDEN) writeFileSync(expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
      if (!existsSync(expectedFile)) assert.fail(missingGolden(expectedFile));
      assert.deepEqual(actual, JSON.parse(readFileSync(expectedFile, 'utf8')));
    });
  }
});
