import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256Hex } from '../../src/security/api-keys.js';
import { verifyPassword } from '../../src/security/ssh-keys.js';
import { CLI_ENTRY, runCli, runProcess } from '../helpers/cli.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { writeTestPartners } from '../helpers/gateway.js';

const run = promisify(execFile);
const gateway = (...args: string[]) => run(process.execPath, [...CLI_ENTRY, ...args], { cwd: REPO, env: { ...process.env, LOG_LEVEL: 'silent' } });
const gatewayWith = (env: Record<string, string>, input: string, ...args: string[]) => runCli(args, { env, input });

describe('CLI', function () {
  // Each command is a new node process compiling TypeScript; on a loaded 2-core machine a few take tens of seconds.
  this.timeout(180_000);

  it('`mapping test` prints the canonical document of a sample', async () => {
    const { stdout } = await gateway('mapping', 'test', 'acme-supply/856-004010', path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));
    const doc = JSON.parse(stdout);
    assert.equal(doc.shipmentId, '829716');
    assert.equal(doc.orders[0].items.length, 2);
  });

  it('`mapping test` prints each error with its location and exits 1', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gw-cli-'));
    try {
      const bad = path.join(dir, 'bad.json');
      await writeFile(bad, (await readFile(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'), 'utf8')).replace('"uom": "CS"', '"uom": "KEG"'));
      await assert.rejects(gateway('mapping', 'test', 'northwind/invoice-json', bad), (e: { code: number; stderr: string }) => {
        assert.equal(e.code, 1);
        assert.match(
          e.stderr,
          new RegExp(
            [
              'GW_MAP_TRANSFORM: Rule fields\\.lines\\.fields\\.unit \\(codeList\\): "KEG" is not in code list units .*',
              '\\[\\$\\.lines\\[0\\]\\.uom, rule fields\\.lines\\.fields\\.unit\\]',
            ].join(''),
          ),
        );
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`mapping diff` shows, per sample, how a new profile version changes the output', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gw-cli-'));
    try {
      const current = path.join(MAPPINGS, 'acme-supply', '856-004010.yaml');
      const next = path.join(dir, '856-004010.yaml');
      await writeFile(next, (await readFile(current, 'utf8')).replace('version: 2', 'version: 3').replace('factors: { dozen: 12 }', 'factors: { dozen: 10 }'));
      const samples = ['856-004010-cases-xref.edi', '856-004060-SOI.edi'].map((f) => path.join(MAPPINGS, 'acme-supply', 'samples', f));
      const { stdout } = await gateway('mapping', 'diff', current, next, ...samples);
      assert.match(stdout, /856-004010-cases-xref\.edi: 1 change\(s\)\n {2}~ \/0\/document\/orders\/0\/items\/2\/quantity: 36 → 30\n/);
      assert.match(stdout, /856-004060-SOI\.edi: unchanged/);
      assert.match(stdout, /1 of 2 sample\(s\) change \(acme-supply\/856-004010: 2 → 3\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`mapping test` renders a canonical purchase order with an outbound profile', async () => {
    const { stdout } = await gateway(
      'mapping',
      'test',
      'x12-standard/purchase-order-850',
      path.join(MAPPINGS, 'x12-standard', 'samples', 'outbound', 'purchase-order.json'),
    );
    assert.match(stdout, /^BEG\*00\*SA\*PO-2026-2210\*\*20261116~\n/);
    assert.match(stdout, /\nCTT\*2~\n$/);
  });

  it('`keys generate` prints a key once and the SHA-256 that verifies it', async () => {
    const { stdout } = await gateway('keys', 'generate', 'acme2027');
    const key = /API key \(shown once; give it to the partner\): (gw_acme2027_[A-Za-z0-9_-]{43})/.exec(stdout)?.[1];
    assert.ok(key, stdout);
    assert.match(stdout, new RegExp(`sha256: ${sha256Hex(key)}`));
  });

  it('says in one line that a command is unknown, where the usage is, and exits 2', async () => {
    await assert.rejects(
      gateway('frobnicate'),
      (e: { code: number; stderr: string }) =>
        e.code === 2 && /^GW_CLI_ARGUMENT: "frobnicate" is not a gateway command; `gateway --help` lists them\.\n$/.test(e.stderr),
    );
  });

  it('`sftp password-hash` prints a scrypt hash of the password read from stdin, never the password', async () => {
    const r = await gatewayWith({}, 'Sup3r secret\n', 'sftp', 'password-hash');
    assert.equal(r.status, 0, r.stderr);
    const hash = r.stdout.trim();
    assert.match(hash, /^scrypt\$32768\$8\$1\$/);
    assert.doesNotMatch(hash, /Sup3r/);
    assert.equal(await verifyPassword('Sup3r secret', hash), true);
    assert.equal(await verifyPassword('Sup3r secreT', hash), false);
  });

  it('`sftp host-keys add/list/activate` rotate a host key in two steps, with known_hosts lines', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gw-cli-keys-'));
    try {
      const env = { SFTP_HOST_KEYS_DIR: dir, SFTP_PORT: '2222', GATEWAY_DATA_DIR: dir };
      const add = await gatewayWith(env, '', 'sftp', 'host-keys', 'add', 'ed25519');
      assert.equal(add.status, 0, add.stderr);
      const fingerprint = /\((SHA256:[^)]+)\)/.exec(add.stdout)?.[1];
      assert.ok(fingerprint);
      const list = await gatewayWith(env, '', 'sftp', 'host-keys', 'list', 'sftp.example.com');
      assert.match(list.stdout, new RegExp(`^next\\s+ed25519\\s+${fingerprint.replace(/[+/]/g, '\\$&')}`, 'm'));
      assert.match(list.stdout, /^\[sftp\.example\.com\]:2222 ssh-ed25519 AAAA/m);
      const activate = await gatewayWith(env, '', 'sftp', 'host-keys', 'activate', fingerprint);
      assert.equal(activate.status, 0, activate.stderr);
      assert.match(
        (await gatewayWith(env, '', 'sftp', 'host-keys', 'list')).stdout,
        new RegExp(`^active\\s+ed25519\\s+${fingerprint.replace(/[+/]/g, '\\$&')}`, 'm'),
      );
      const retire = await gatewayWith(env, '', 'sftp', 'host-keys', 'retire', fingerprint);
      assert.equal(retire.status, 1);
      assert.match(retire.stderr, /activate.*its successor/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('`as2 keys` make, publish and rotate our AS2 key pair; `as2 certs --within` reports what expires', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'gw-cli-as2-'));
    try {
      // The test's partners: what `as2 certs` reports must not depend on the certificates a user has added.
      const env = { AS2_KEYS_DIR: dir, GATEWAY_DATA_DIR: dir, PARTNERS_DIR: await writeTestPartners(dir, 'http://127.0.0.1:9/unused') };
      const cert = await gatewayWith(env, '', 'as2', 'keys', 'certificate');
      assert.equal(cert.status, 0, cert.stderr);
      // OpenSSL reads the certificate partners are given.
      const x509 = await runProcess('openssl', ['x509', '-noout', '-subject', '-fingerprint', '-sha256'], { input: cert.stdout });
      assert.match(x509.stdout, /subject=CN = PARTNER-GATEWAY/);
      const first = /Fingerprint=([0-9A-F:]+)/.exec(x509.stdout)?.[1];
      const add = await gatewayWith(env, '', 'as2', 'keys', 'add');
      assert.equal(add.status, 0, add.stderr);
      const next = /\(([0-9A-F:]{95})\)/.exec(add.stdout)?.[1];
      assert.ok(next && first);
      assert.match((await gatewayWith(env, '', 'as2', 'keys', 'list')).stdout, new RegExp(`^next\\s+${next}`, 'm'));
      assert.equal((await gatewayWith(env, '', 'as2', 'keys', 'activate', next)).status, 0);
      const list = (await gatewayWith(env, '', 'as2', 'keys', 'list')).stdout;
      assert.match(list, new RegExp(`^active\\s+${next}`, 'm'));
      assert.match(list, new RegExp(`^previous\\s+${first}`, 'm'));
      const soon = await gatewayWith(env, '', 'as2', 'certs', '--within', '3650');
      assert.equal(soon.status, 1, 'something expires within ten years');
      assert.match(soon.stdout, new RegExp(`ours\\s+active\\s+${next}`));
      const none = await gatewayWith(env, '', 'as2', 'certs', '--within', '30');
      assert.equal(none.status, 0, none.stdout);
      assert.match(none.stdout, /No AS2 certificate expires within 30 days/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
