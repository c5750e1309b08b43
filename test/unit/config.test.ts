import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { opensslIdentity } from '../helpers/as2.js';
import { runCli } from '../helpers/cli.js';
import { copyConfig, DEMO_PARTNERS, repoEnv, type ConfigCopy } from '../helpers/config.js';
import { testPartners } from '../helpers/gateway.js';

/** The inbound mapping profiles the demo partners and the shared maps ship with. */
const DEMO_MAPPINGS = [
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
];

/** A user's SFTP login key (README, "SFTP"). */
const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEwOuZHrc/opazwiZGj5lCe4DdPLqJhvDxYmtz4HoWx6 acme';

describe("config: the repository's partners and mappings", () => {
  const copies: ConfigCopy[] = [];
  afterEach(() => {
    for (const c of copies.splice(0)) c.remove();
  });
  const copy = (...args: Parameters<typeof copyConfig>) => copies[copies.push(copyConfig(...args)) - 1] as ConfigCopy;

  it('loads the demo partners and their profiles, frozen, beside whatever partners and mappings the user has added', async () => {
    const env = repoEnv();
    const config = await copy().load(env);
    for (const id of DEMO_PARTNERS) assert.ok(config.partners.has(id), `demo partner ${id}`);
    for (const id of DEMO_MAPPINGS) assert.ok(config.mappings.has(id), `demo mapping profile ${id}`);
    const acme = config.partners.get('acme-supply');
    assert.equal(acme?.routes[0]?.target.kind === 'file' && acme.routes[0].target.dir, `${env.GATEWAY_DATA_DIR}/erp-drop`);
    assert.equal(acme?.limits.requestsPerMinute, 600, 'schema defaults are applied');
    assert.equal(acme?.routes[0]?.maxAttempts, undefined, 'no attempt cap unless the profile sets one: the maximum age bounds retries');
    assert.ok(Object.isFrozen(acme?.routes[0]));
  });

  it("still loads after the README's steps (a new partner and mapping, ACME's AS2 certificate and SSH key), certificates from the copy", async () => {
    // A checkout where the user has done what README's "Add a partner", "SFTP" and "AS2" say.
    const checkout = copy();
    const id = 'newco-readme-check'; // the test's own partner, beside any of the user's
    mkdirSync(path.join(checkout.mappingsDir, id));
    writeFileSync(
      path.join(checkout.mappingsDir, id, 'asn-csv.yaml'),
      `id: ${id}/asn-csv\nversion: 1\nsource: { format: csv, header: true, match: { columns: [Shipment, PO, SKU] } }\n` +
        'target: { type: asn, version: 1 }\nfields:\n  shipmentId: { from: Shipment, required: true }\n',
    );
    writeFileSync(
      path.join(checkout.partnersDir, `${id}.yaml`),
      `id: ${id}\nname: Newco\nstate: testing\nchannels: [rest]\ncredentials: { apiKeys: [] }\n` +
        `inbound:\n  - { type: asn, mapping: ${id}/asn-csv }\nroutes: []\n`,
    );
    await opensslIdentity(checkout.certsDir, 'acme-as2'); // certs/acme-as2.pem, CN=acme-as2
    const acmeFile = path.join(checkout.partnersDir, 'acme-supply.yaml');
    const acme = parseDocument(readFileSync(acmeFile, 'utf8'));
    acme.setIn(['as2', 'id'], 'ACME-AS2');
    acme.setIn(['as2', 'certificates'], ['certs/acme-as2.pem']);
    acme.setIn(['as2', 'requireSigned'], true);
    acme.addIn(['credentials', 'sshKeys'], { key: SSH_KEY });
    writeFileSync(acmeFile, acme.toString());

    const config = await copy(undefined, checkout.dir).load(repoEnv());
    for (const p of [...DEMO_PARTNERS, id]) assert.ok(config.partners.has(p), `partner ${p}`);
    for (const m of [...DEMO_MAPPINGS, `${id}/asn-csv`]) assert.ok(config.mappings.has(m), `mapping profile ${m}`);
    assert.equal(config.as2.get('ACME-AS2')?.certs[0]?.x509.subject, 'CN=acme-as2');
    assert.equal(config.partners.get('acme-supply')?.as2?.requireSigned, true);
  });
});

describe('config: partner and mapping profiles', () => {
  // Test-owned partner profiles over a copy of the repository's mappings: the cases below edit
  // profile text and name lines, which a user's own edits of the demo partners must not move.
  let c: ConfigCopy;
  beforeEach(() => {
    c = copyConfig(testPartners('http://127.0.0.1:9/unused'));
  });
  afterEach(() => c.remove());
  const load = () => c.load({ GATEWAY_DATA_DIR: '/tmp/x' });
  /** Edits one file of the copy; `from` must occur in it. */
  const edit = (rel: string, from: string | RegExp, to: string) => {
    const file = path.join(c.dir, rel);
    const text = readFileSync(file, 'utf8');
    const next = text.replace(from, to);
    assert.notEqual(next, text, `edit of ${rel} changed nothing`);
    writeFileSync(file, next);
    return file;
  };

  const cases: [string, string, string | RegExp, string, RegExp][] = [
    ['a YAML syntax error', 'partners/northwind.yaml', 'state: live', 'state: [live', /northwind\.yaml:\d+:\d+: not valid YAML/],
    ['an unknown property, at its line', 'partners/northwind.yaml', 'state: live', 'state: live\nsate: live', /northwind\.yaml:4:1: unknown property "sate"/],
    [
      'a value outside its enum',
      'partners/northwind.yaml',
      'state: live',
      'state: alive',
      /northwind\.yaml:3:8: state must be one of onboarding, testing, live, suspended \(found alive\) \(at state\)/,
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
      /northwind\.yaml:\d+:\d+: environment variable ERP_DROP_DIR is not set \(at routes\.1\.target\.dir\)/,
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
      /northwind\.yaml:\d+:\d+: a broker password does not belong in the URL.*passwordEnv \(at routes\.1\.target\.url\)/,
    ],
    [
      'a broker target without its exchange (the complaint of the amqp kind, not of another kind)',
      'partners/northwind.yaml',
      /target: \{ id: erp-drop, kind: file.*/,
      'target: { id: erp-rabbit, kind: amqp, url: "amqp://rabbit.internal:5672", routingKey: documents }',
      /northwind\.yaml:\d+:\d+: target is missing the required property exchange \(at routes\.1\.target\)/,
    ],
    [
      'a broker password variable that is not set',
      'partners/northwind.yaml',
      /target: \{ id: erp-drop, kind: file.*/,
      'target: { id: erp-nats, kind: nats, servers: ["nats://nats:4222"], subject: erp.docs, stream: ERP, username: gw, passwordEnv: NO_SUCH_PASSWORD }',
      /northwind\.yaml:\d+:\d+: environment variable NO_SUCH_PASSWORD is not set \(at routes\.1\.target\.passwordEnv\)/,
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
      'channels: [rest]',
      'channels: [rest, as2]\nas2: { id: ACME-AS2, certificates: [certs/missing.pem] }',
      /acme-supply\.yaml:\d+:\d+: certificate file .*certs\/missing\.pem cannot be read .*\(at as2\.certificates\.0\)/,
    ],
    [
      'an AS2 agreement requiring signatures without a certificate',
      'partners/acme-supply.yaml',
      'channels: [rest]',
      'channels: [rest, as2]\nas2: { id: ACME-AS2, certificates: [], requireSigned: true }',
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
      'a source format outside its choices, naming them',
      'mappings/northwind/asn-json.yaml',
      'format: json',
      'format: jsn',
      /asn-json\.yaml:6:11: format must be one of x12, edifact, json, xml, csv, canonical \(found jsn\) \(at source\.format\)/,
    ],
    [
      'a transform name outside its choices, naming them and the other forms',
      'mappings/northwind/invoice-json.yaml',
      'transform: upper',
      'transform: uper',
      /invoice-json\.yaml:17:\d+: transform must be one of trim, upper, .* or an object or an array \(found uper\) \(at fields\.currency\.transform\)/,
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
      edit(file, from, to);
      await assert.rejects(load(), (e: { code: string; message: string }) => {
        assert.match(e.code, /^GW_CONFIG_(INVALID|REFERENCE)$/);
        assert.match(e.message, expected);
        assert.ok(e.message.includes(path.join(c.dir, file)), `names the file: ${e.message}`);
        return true;
      });
    });
  }

  it('reads a GS1 company prefix as digits, with extension digit 0 unless it says otherwise', async () => {
    edit('partners/northwind.yaml', 'channels: [rest]', 'channels: [rest]\ngs1: { companyPrefix: "0614142", extensionDigit: 3 }');
    const config = await load();
    assert.deepEqual(config.partners.get('northwind')?.gs1, { companyPrefix: '0614142', extensionDigit: 3 });
    assert.deepEqual(config.partners.get('acme-supply')?.gs1, { companyPrefix: '0614141', extensionDigit: 0 });
    assert.equal(config.partners.get('globex-office')?.gs1, undefined);
  });

  it('lists every problem of every file at once, each at its line and column, allowed values named', async () => {
    const acme = edit('partners/acme-supply.yaml', 'channels: [rest]', 'channels: [fax, rest]');
    edit('partners/acme-supply.yaml', /kind: file/, 'kind: htp');
    const northwind = edit('partners/northwind.yaml', 'state: live', 'state: alive\nsate: live');
    const profile = edit('mappings/northwind/asn-json.yaml', '{ codeList: units }', '{ codeLis: units }');
    await assert.rejects(load(), (e: { code: string; message: string; problems: { location?: { file?: string; line?: number } }[] }) => {
      const lines = e.message.split('\n');
      const at = (file: string, what: RegExp) => lines.some((l) => l.startsWith(`${file}:`) && /^[^:]+:\d+:\d+: /.test(l) && what.test(l));
      assert.ok(at(acme, /channels\[0\] must be one of rest, sftp, as2, webhook \(found fax\)/), e.message);
      assert.ok(at(acme, /kind must be one of file, http, amqp, nats \(found htp\)/), e.message);
      assert.ok(at(northwind, /^[^:]+:3:8: state must be one of onboarding, testing, live, suspended \(found alive\)/), e.message);
      assert.ok(at(northwind, /^[^:]+:4:1: unknown property "sate" \(allowed: .*state.*\)/), e.message);
      assert.ok(at(profile, /unknown property "codeLis" \(allowed: .*codeList.*\)/), e.message);
      assert.equal(lines.at(-1), '5 errors in 3 files');
      assert.equal(e.problems.length, 5);
      // The partner naming the broken profile adds no second complaint about it.
      assert.ok(!/asn-json" does not exist/.test(e.message), e.message);
      return true;
    });
  });

  it('`gateway partners validate` prints ok, or every problem and how many, and exits non-zero', async () => {
    const env = { PARTNERS_DIR: path.join(c.dir, 'partners'), MAPPINGS_DIR: path.join(c.dir, 'mappings') };
    const ok = await runCli(['partners', 'validate'], { env });
    assert.equal(ok.status, 0, ok.stderr);
    const counts = await load();
    assert.equal(ok.stdout.trim(), `ok: ${counts.partners.size} partner profile(s), ${counts.mappings.size} mapping profile(s)`);
    edit('partners/acme-supply.yaml', 'channels: [rest]', 'channels: [fax]');
    edit('partners/northwind.yaml', 'mapping: northwind/asn-json', 'mapping: northwind/asn-jsn');
    const bad = await runCli(['partners', 'validate'], { env });
    assert.equal(bad.status, 1);
    assert.deepEqual(
      bad.stderr
        .trim()
        .split('\n')
        .map((l) => l.replace(c.dir, '<dir>')),
      [
        '<dir>/partners/acme-supply.yaml:4:12: channels[0] must be one of rest, sftp, as2, webhook (found fax) (at channels.0)',
        '<dir>/partners/northwind.yaml:9:27: mapping profile "northwind/asn-jsn" does not exist under mappings/ (at inbound.0.mapping)',
        '2 errors in 2 files (GW_CONFIG_INVALID, GW_CONFIG_REFERENCE)',
      ],
    );
  });
});
