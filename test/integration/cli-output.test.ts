import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { CLI_ENTRY, runCli } from '../helpers/cli.js';
import { writeTestPartners } from '../helpers/gateway.js';

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the CLI as a separate process with stdout and stderr piped to this one, asynchronously. */
function gateway(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI_ENTRY, ...args], {
      cwd: REPO,
      env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
  });
}

describe('the CLI as a process: whole output, one line per failure', function () {
  // Every case is a whole Node process (tsx compiles on start): seconds each on a busy machine.
  this.timeout(300_000);
  let dir: string;
  let db: TestDatabase;
  /** The test's data folder and partner profiles, not the checkout's (whose profiles may name files in data/). */
  let own: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gw-cli-output-'));
    own = { GATEWAY_DATA_DIR: dir, PARTNERS_DIR: await writeTestPartners(dir, 'http://127.0.0.1:9/unused') };
    db = await freshDatabase();
  });
  after(async () => {
    await db?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes more than 1 MB to a pipe in full before it exits (mapping test of a large ship notice)', async () => {
    const sample = JSON.parse(readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8'));
    const line = sample.purchaseOrders[0].lines[0];
    sample.purchaseOrders = Array.from({ length: 200 }, (_, o) => ({
      number: `PO-${o}`,
      lines: Array.from({ length: 40 }, (_, l) => ({ ...line, line: String(l + 1) })),
    }));
    const file = path.join(dir, 'asn-200-orders.json');
    await writeFile(file, JSON.stringify(sample));

    const r = await gateway(['mapping', 'test', 'northwind/asn-json', file]);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    assert.ok(r.stdout.length > 1_000_000, `${r.stdout.length} bytes`);
    const doc = JSON.parse(r.stdout.toString('utf8'));
    assert.equal(doc.orders.length, 200);
    assert.equal(doc.orders[199].items.length, 40);
  });

  const malformed: [string[], RegExp][] = [
    [['replay', 'not-a-uuid'], /not a message id/],
    [['replay', "'; drop table messages; --"], /not a message id/],
    [['audit', '--limit', 'abc'], /--limit takes a whole number/],
    [['audit', '--limit=-1'], /--limit takes a whole number/],
    [['audit', '--limit', '1e300'], /--limit takes a whole number/],
    [['audit', '--limit', '-1'], /--limit/],
    [['creds', 'expiring', '--within', 'soon'], /--within takes a whole number/],
    [['as2', 'certs', '--within', 'abc'], /--within takes a whole number/],
    [['as2', 'keys', 'certificate', 'no-such-key'], /no AS2 key "no-such-key"/],
    [['sftp', 'host-keys', 'add', 'dsa'], /ed25519 or rsa/],
    [['mapping', 'test', 'no/such-profile', 'package.json'], /no mapping profile "no\/such-profile"/],
    [['mapping', 'test', 'northwind/asn-json', '/no/such/file.json'], /cannot use \/no\/such\/file\.json/],
    [['start', '--no-such-option'], /Unknown option '--no-such-option'; `gateway --help`/],
    [['nosuch'], /"nosuch" is not a gateway command/],
    [['creds', 'bogus'], /`gateway creds bogus` fits none of the forms of creds; `gateway creds --help`/],
    [['keys', 'generate', 'abcd', '--kind', 'vendor'], /--kind is partner, erp or admin/],
  ];
  it('answers every malformed argument with one GW_CLI_ARGUMENT line and exit 2', async () => {
    // Four at a time: each is a whole Node process, and the machine may be busy.
    const results: string[] = [];
    const queue = [...malformed];
    const worker = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const [args, says] = next;
        const r = await gateway(args, own);
        const ok = r.code === 2 && /^GW_CLI_ARGUMENT: [^\n]+\n$/.test(r.stderr) && says.test(r.stderr) && r.stdout.length === 0;
        if (!ok) results.push(`gateway ${args.join(' ')}: exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 500))}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    assert.deepEqual(results, []);
  });

  it('shows the usage for --help and -h, at the top and per command, on stdout with exit 0', async () => {
    // Per command, the text itself is checked in test/unit/cli-usage.test.ts; here, that the process answers it.
    const [top, creds] = await Promise.all([runCli(['-h']), runCli(['creds', 'list', '--help'])]);
    for (const r of [top, creds]) assert.deepEqual([r.status, r.stderr], [0, '']);
    assert.match(top.stdout, /^gateway <command>/);
    assert.match(top.stdout, /^ {2}users list /m);
    assert.match(creds.stdout, /^usage:\n {2}creds list/);
    assert.doesNotMatch(creds.stdout, /^ {2}(users|keys) /m);
  });

  it('words a new API key for whoever holds it: partner, ERP or security administrators', async () => {
    const [partner, erp, admin] = await Promise.all([
      runCli(['keys', 'generate', 'abcd']),
      runCli(['keys', 'generate', 'abcd', '--kind', 'erp']),
      runCli(['keys', 'generate', 'abcd', '--kind', 'admin']),
    ]);
    assert.match(partner.stdout, /^Partner API key \(shown once; give it to the partner\): gw_abcd_\S+\n.*credentials\.apiKeys/s);
    assert.match(erp.stdout, /^ERP API key \(shown once; configure it in the ERP[^)]*\): gw_abcd_\S+\n.*ERP_API_KEYS=abcd:[0-9a-f]{64}/s);
    assert.match(admin.stdout, /^Admin API key \(shown once; keep it for the security administrators[^)]*\): gw_abcd_\S+\n.*ADMIN_API_KEYS=abcd:[0-9a-f]{64}/s);
    for (const r of [erp, admin]) assert.doesNotMatch(r.stdout, /give it to the partner/);
  });

  it('creds list: stdout holds the listing only, logs (at any level) go to stderr; a wrong DATABASE_URL is one line', async () => {
    const [list, unreachable] = await Promise.all([
      runCli(['creds', 'list'], { env: { DATABASE_URL: db.url, ...own, LOG_LEVEL: 'debug' } }),
      runCli(['creds', 'list'], { env: { DATABASE_URL: 'postgres://gateway@127.0.0.1:1/nowhere', ...own } }),
    ]);
    assert.equal(list.status, 0, list.stderr);
    const lines = list.stdout.trimEnd().split('\n');
    assert.ok(lines.length >= 4, list.stdout);
    assert.match(lines[0] ?? '', /^api-key /);
    assert.deepEqual([lines.filter((l) => l.startsWith('{')), list.stderr], [[], ''], 'no log line on stdout');
    assert.equal(unreachable.status, 1);
    assert.equal(unreachable.stdout, '');
    assert.match(unreachable.stderr, /^GW_STORE_CONNECT: cannot reach the database at 127\.0\.0\.1:1\/nowhere: [^\n]*ECONNREFUSED[^\n]*DATABASE_URL[^\n]*\n$/);
  });

  it('start on a port another process holds: one line naming the variable to change, exit 1, nothing started', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = String((holder.address() as AddressInfo).port);
    const start = (env: Record<string, string>) =>
      runCli(['start'], { env: { HOST: '127.0.0.1', PORT: '0', HTTPS: 'off', SFTP: 'off', DATABASE_URL: db.url, ...own, ...env } });
    try {
      const runs = await Promise.all([start({ PORT: taken }), start({ SFTP: 'on', SFTP_PORT: taken })]);
      assert.deepEqual(
        runs.map((r) => [r.status, r.stdout, r.stderr]),
        [
          [1, '', `GW_PORT_IN_USE: Port ${taken} (HTTP) is in use (another gateway?). Set PORT to another port.\n`],
          [1, '', `GW_PORT_IN_USE: Port ${taken} (SFTP) is in use (another gateway?). Set SFTP_PORT to another port.\n`],
        ],
      );
    } finally {
      holder.close();
    }
  });

  for (const [args, code] of [
    [['creds', 'list', '--kind', 'bogus'], 'GW_CRED_INVALID'],
    [['creds', 'revoke', 'api-key', 'no-such-ref'], 'GW_CRED_UNKNOWN'],
    [['creds', 'rotate', 'api-key', 'acme-supply', '--overlap', 'a while'], 'GW_CRED_INVALID'],
    [['replay', '00000000-0000-4000-8000-000000000000'], 'GW_NOT_FOUND'],
  ] as const) {
    it(`gateway ${args.join(' ')}: one line with ${code}, exit 1`, async () => {
      const r = await gateway([...args], { ...own, DATABASE_URL: db.url });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`^${code}: [^\\n]+\\n$`));
    });
  }
});
