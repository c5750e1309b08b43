import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.js';
import { REPO } from '../helpers/corpus.js';

const run = promisify(execFile);

/** A copy of the repository's partners/ and mappings/ to break one file at a time. */
async function copyConfig() {
  const dir = await mkdtemp(path.join(tmpdir(), 'gw-config-'));
  await cp(path.join(REPO, 'partners'), path.join(dir, 'partners'), { recursive: true });
  await cp(path.join(REPO, 'mappings'), path.join(dir, 'mappings'), { recursive: true });
  const load = () => loadConfig({ partnersDir: path.join(dir, 'partners'), mappingsDir: path.join(dir, 'mappings'), env: { GATEWAY_DATA_DIR: '/tmp/x' } });
  const edit = async (rel: string, from: string | RegExp, to: string) => {
    const file = path.join(dir, rel);
    const text = await readFile(file, 'utf8');
    const next = text.replace(from, to);
    assert.notEqual(next, text, `edit of ${rel} changed nothing`);
    await writeFile(file, next);
    return file;
  };
  return { dir, load, edit };
}

describe('config: partner and mapping profiles', () => {
  let c: Awaited<ReturnType<typeof copyConfig>>;
  beforeEach(async () => {
    c = await copyConfig();
  });
  afterEach(async () => {
    await rm(c.dir, { recursive: true, force: true });
  });

  it('loads the demo partners and their profiles, frozen', async () => {
    const config = await c.load();
    assert.deepEqual([...config.partners.keys()].sort(), ['acme-supply', 'globex-office', 'hansen-textil', 'nordlicht', 'northwind']);
    assert.deepEqual([...config.mappings.keys()].sort(), [
      'acme-supply/810-004010',
      'acme-supply/846-004010',
      'acme-supply/855-004010',
      'acme-supply/856-004010',
      'edifact-standard/desadv-d96a',
      'edifact-standard/invoic-d96a',
      'edifact-standard/ordrsp-d96a',
      'globex-office/confirmation-cxml',
      'globex-office/invoice-cxml',
      'globex-office/ship-notice-cxml',
      'hansen-textil/price-list-csv',
      'hansen-textil/stock-csv',
      'northwind/asn-json',
      'northwind/invoice-json',
      'x12-standard/810-003050',
      'x12-standard/810-004010',
      'x12-standard/856-003050',
      'x12-standard/856-004010',
    ]);
    const acme = config.partners.get('acme-supply');
    assert.equal(acme?.routes[0]?.target.kind === 'file' && acme.routes[0].target.dir, '/tmp/x/erp-drop');
    assert.equal(acme?.limits.requestsPerMinute, 600, 'schema defaults are applied');
    assert.equal(acme?.routes[0]?.maxAttempts, undefined, 'no attempt cap unless the profile sets one: the maximum age bounds retries');
    assert.ok(Object.isFrozen(acme?.routes[0]));
  });

  const cases: [string, string, string | RegExp, string, RegExp][] = [
    ['a YAML syntax error', 'partners/northwind.yaml', 'state: live', 'state: [live', /northwind\.yaml:\d+:\d+: not valid YAML/],
    ['an unknown property, at its line', 'partners/northwind.yaml', 'state: live', 'state: live\nsate: live', /northwind\.yaml:6:1: unknown property "sate"/],
    [
      'a value outside its enum',
      'partners/northwind.yaml',
      'state: live',
      'state: alive',
      /northwind\.yaml:5:8: must be one of onboarding, testing, live, suspended \(at state\)/,
    ],
    [
      'a mapping profile that does not exist',
      'partners/northwind.yaml',
      'mapping: northwind/asn-json',
      'mapping: northwind/asn-jsn',
      /northwind\.yaml:\d+:\d+: mapping profile "northwind\/asn-jsn" does not exist under mappings\/ \(at inbound\.0\.mapping\)/,
    ],
    [
      'a profile of the wrong document type',
      'partners/northwind.yaml',
      'mapping: northwind/asn-json',
      'mapping: northwind/invoice-json',
      /produces invoice, not asn/,
    ],
    [
      'a missing environment variable',
      'partners/northwind.yaml',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${NAME}` is the profile syntax under test
      '${GATEWAY_DATA_DIR}',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: `${NAME}` is the profile syntax under test
      '${ERP_DROP_DIR}',
      /northwind\.yaml:\d+:\d+: environment variable ERP_DROP_DIR is not set \(at routes\.0\.target\.dir\)/,
    ],
    [
      'a route whose first retry delay exceeds its longest',
      'partners/northwind.yaml',
      '  - types: [asn, invoice]\n',
      '  - types: [asn, invoice]\n    retry: { backoffMs: 5000, backoffMaxMs: 1000 }\n',
      /northwind\.yaml:\d+:\d+: backoffMs \(5000\) is longer than backoffMaxMs \(1000\).* \(at routes\.0\.retry\.backoffMs\)/,
    ],
    [
      'a broker password written in the URL',
      'partners/northwind.yaml',
      /target: \{ id: erp-drop, kind: file.*/,
      'target: { id: erp-rabbit, kind: amqp, url: "amqp://gw:secret@rabbit.internal:5672", exchange: erp, routingKey: documents }',
      /northwind\.yaml:\d+:\d+: a broker password does not belong in the URL.*passwordEnv \(at routes\.0\.target\.url\)/,
    ],
    [
      'a broker target without its exchange (the complaint of the amqp kind, not of another kind)',
      'partners/northwind.yaml',
      /target: \{ id: erp-drop, kind: file.*/,
      'target: { id: erp-rabbit, kind: amqp, url: "amqp://rabbit.internal:5672", routingKey: documents }',
      /northwind\.yaml:\d+:\d+: must have required property 'exchange' \(at routes\.0\.target\)/,
    ],
    [
      'a broker password variable that is not set',
      'partners/northwind.yaml',
      /target: \{ id: erp-drop, kind: file.*/,
      'target: { id: erp-nats, kind: nats, servers: ["nats://nats:4222"], subject: erp.docs, stream: ERP, username: gw, passwordEnv: NO_SUCH_PASSWORD }',
      /northwind\.yaml:\d+:\d+: environment variable NO_SUCH_PASSWORD is not set \(at routes\.0\.target\.passwordEnv\)/,
    ],
    [
      'a broker password variable of an events allow-list entry that is not set',
      'partners/northwind.yaml',
      'routes:',
      'events:\n  urls: [{ url: "amqp://rabbit.internal:5672/", username: gw, passwordEnv: NO_SUCH_PASSWORD }]\nroutes:',
      /northwind\.yaml:\d+:\d+: environment variable NO_SUCH_PASSWORD is not set \(at events\.urls\.0\.passwordEnv\)/,
    ],
    [
      'an unknown retry setting',
      'partners/northwind.yaml',
      '  - types: [asn, invoice]\n',
      '  - types: [asn, invoice]\n    retry: { maxAge: 3600 }\n',
      /northwind\.yaml:\d+:\d+: unknown property "maxAge"/,
    ],
    [
      'a partner id that is not its file name',
      'partners/northwind.yaml',
      'id: northwind',
      'id: northwinds',
      /the partner id must equal the file name "northwind"/,
    ],
    [
      'a malformed X12 path in a mapping rule',
      'mappings/x12-standard/856-004010.yaml',
      'shipmentId: { from: BSN.02',
      'shipmentId: { from: BSN.2x',
      /856-004010\.yaml:\d+:\d+: "BSN\.2x" is not an X12 path.* \(at fields\.shipmentId\.from\)/,
    ],
    [
      'a malformed XML path',
      'mappings/globex-office/ship-notice-cxml.yaml',
      'from: ShipNoticeHeader/@shipmentID',
      'from: ShipNoticeHeader/@@shipmentID',
      /ship-notice-cxml\.yaml:\d+:\d+: .*is not an attribute name \(at fields\.shipmentId\.from\)/,
    ],
    [
      'a profile extending one that does not exist',
      'mappings/acme-supply/856-004010.yaml',
      'extends: x12-standard/856-004010',
      'extends: x12-standard/856-004011',
      /856-004010\.yaml:\d+:\d+: profile "x12-standard\/856-004011" does not exist under mappings\/ \(at extends\)/,
    ],
    [
      'a cross-reference file that does not exist',
      'mappings/acme-supply/856-004010.yaml',
      'file: xref/items.csv',
      'file: xref/item.csv',
      /856-004010\.yaml:\d+:\d+: cross-reference file "xref\/item\.csv" does not exist.* \(at xref\.items\.file\)/,
    ],
    [
      'a cross-reference file outside mappings/',
      'mappings/acme-supply/856-004010.yaml',
      'file: xref/items.csv',
      'file: ../../partners/x.csv',
      /856-004010\.yaml:\d+:\d+: "\.\.\/\.\.\/partners\/x\.csv" is outside mappings\//,
    ],
    [
      'a cross-reference column that does not exist',
      'mappings/acme-supply/856-004010.yaml',
      'column: buyerSku',
      'column: ourSku',
      /856-004010\.yaml:\d+:\d+: cross-reference table "items" \(.*items\.csv\) has no column "ourSku"/,
    ],
    [
      'a date format without a year',
      'mappings/hansen-textil/stock-csv.yaml',
      'reportDate: { from: Stand, transform: { date: DD.MM.CCYY }',
      'reportDate: { from: Stand, transform: { date: DD.MM }',
      /stock-csv\.yaml:\d+:\d+: date format "DD\.MM" has neither a year/,
    ],
    [
      'an unknown encoding',
      'mappings/hansen-textil/stock-csv.yaml',
      'encoding: windows-1252',
      'encoding: cp-9999',
      /stock-csv\.yaml:\d+:\d+: "cp-9999" is not an encoding/,
    ],
    [
      'an undefined code list',
      'mappings/northwind/asn-json.yaml',
      '{ codeList: units }',
      '{ codeList: unit }',
      /asn-json\.yaml:\d+:\d+: code list "unit" is not defined under codeLists/,
    ],
    [
      'a canonical version that does not exist',
      'mappings/northwind/asn-json.yaml',
      /target:\n {2}type: asn\n {2}version: 1/,
      'target:\n  type: asn\n  version: 9',
      /there is no canonical schema asn version 9/,
    ],
    [
      'an AS2 certificate file that does not exist',
      'partners/acme-supply.yaml',
      'certificates: []',
      'certificates: [certs/missing.pem]',
      /acme-supply\.yaml:\d+:\d+: certificate file .*certs\/missing\.pem cannot be read .*\(at as2\.certificates\.0\)/,
    ],
    [
      'an AS2 agreement requiring signatures without a certificate',
      'partners/acme-supply.yaml',
      'requireSigned: false',
      'requireSigned: true',
      /acme-supply\.yaml:\d+:\d+: as2\.requireSigned needs the partner certificate/,
    ],
    [
      'a GS1 company prefix YAML reads as a number',
      'partners/northwind.yaml',
      'channels: [rest]',
      'channels: [rest]\ngs1: { companyPrefix: 0614141 }',
      /northwind\.yaml:\d+:\d+: write the GS1 company prefix in quotes \("0614141" if it starts with a zero\).*\(at gs1\.companyPrefix\)/,
    ],
    [
      'a GS1 company prefix of six digits',
      'partners/northwind.yaml',
      'channels: [rest]',
      'channels: [rest]\ngs1: { companyPrefix: "061414" }',
      /northwind\.yaml:\d+:\d+: a GS1 company prefix has 7 to 10 digits, not "061414" \(at gs1\.companyPrefix\)/,
    ],
    [
      'an SSCC extension digit above 9',
      'partners/northwind.yaml',
      'channels: [rest]',
      'channels: [rest]\ngs1: { companyPrefix: "0614141", extensionDigit: 10 }',
      /northwind\.yaml:\d+:\d+: must be <= 9 \(at gs1\.extensionDigit\)/,
    ],
    [
      'a profile id that is not its path',
      'mappings/northwind/asn-json.yaml',
      'id: northwind/asn-json',
      'id: northwind/asn',
      /the profile id must be "northwind\/asn-json"/,
    ],
  ];
  for (const [what, file, from, to, expected] of cases) {
    it(`refuses ${what} with file, line and reason`, async () => {
      await c.edit(file, from, to);
      await assert.rejects(c.load(), (e: { code: string; message: string }) => {
        assert.match(e.code, /^GW_CONFIG_(INVALID|REFERENCE)$/);
        assert.match(e.message, expected);
        assert.ok(e.message.includes(path.join(c.dir, file)), `names the file: ${e.message}`);
        return true;
      });
    });
  }

  it('reads a GS1 company prefix as digits, with extension digit 0 unless it says otherwise', async () => {
    await c.edit('partners/northwind.yaml', 'channels: [rest]', 'channels: [rest]\ngs1: { companyPrefix: "0614142", extensionDigit: 3 }');
    const config = await c.load();
    assert.deepEqual(config.partners.get('northwind')?.gs1, { companyPrefix: '0614142', extensionDigit: 3 });
    assert.deepEqual(config.partners.get('acme-supply')?.gs1, { companyPrefix: '0614141', extensionDigit: 0 });
    assert.equal(config.partners.get('globex-office')?.gs1, undefined);
  });

  it('`gateway partners validate` prints ok, or the reason and exits non-zero', async () => {
    const cli = (env: Record<string, string>) =>
      run(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'cli.ts'), 'partners', 'validate'], {
        env: { ...process.env, PARTNERS_DIR: path.join(c.dir, 'partners'), MAPPINGS_DIR: path.join(c.dir, 'mappings'), ...env },
      });
    assert.match((await cli({})).stdout, /ok: 5 partner profile\(s\), 18 mapping profile\(s\)/);
    await c.edit('partners/acme-supply.yaml', 'channels: [rest, sftp, as2]', 'channels: [fax]');
    await assert.rejects(
      cli({}),
      (e: { code: number; stderr: string }) =>
        e.code === 1 && /GW_CONFIG_INVALID: .*acme-supply\.yaml:6:\d+: must be one of rest, sftp, as2, webhook \(at channels\.0\)/.test(e.stderr),
    );
  });
});
