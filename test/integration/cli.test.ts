import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sha256Hex } from '../../src/security/api-keys.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';

const run = promisify(execFile);
const gateway = (...args: string[]) => run(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'cli.ts'), ...args], { cwd: REPO, env: { ...process.env, LOG_LEVEL: 'silent' } });

describe('CLI', function () {
  this.timeout(30_000);

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
        assert.match(e.stderr, /GW_MAP_TRANSFORM: Rule fields\.lines\.fields\.unit \(codeList\): "KEG" is not in code list units .*\[\$\.lines\[0\]\.uom, rule fields\.lines\.fields\.unit\]/);
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
    const { stdout } = await gateway('mapping', 'test', 'x12-standard/purchase-order-850', path.join(MAPPINGS, 'x12-standard', 'samples', 'outbound', 'purchase-order.json'));
    assert.match(stdout, /^BEG\*00\*SA\*PO-2026-2210\*\*20261116~\n/);
    assert.match(stdout, /\nCTT\*2~\n$/);
  });

  it('`keys generate` prints a key once and the SHA-256 that verifies it', async () => {
    const { stdout } = await gateway('keys', 'generate', 'acme2027');
    const key = /API key \(shown once; give it to the partner\): (gw_acme2027_[A-Za-z0-9_-]{43})/.exec(stdout)?.[1];
    assert.ok(key, stdout);
    assert.match(stdout, new RegExp(`sha256: ${sha256Hex(key)}`));
  });

  it('prints usage and exits 2 for an unknown command', async () => {
    await assert.rejects(gateway('frobnicate'), (e: { code: number; stderr: string }) => e.code === 2 && /gateway <command>/.test(e.stderr));
  });
});
