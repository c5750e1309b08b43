import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, GatewayError } from '../../src/errors.js';
import { REPO } from '../helpers/corpus.js';

describe('error catalogue', () => {
  const doc = readFileSync(path.join(REPO, 'docs', 'errors.md'), 'utf8');
  const rows = new Map(
    [...doc.matchAll(/^\| `(GW_[A-Z0-9_]+)` \| (\d{3}) \| (yes|no) \|/gm)].map((m) => [m[1], { status: Number(m[2]), retryable: m[3] === 'yes' }]),
  );

  it('documents every code with its status and retryability, and nothing else', () => {
    assert.deepEqual([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
    for (const [code, spec] of Object.entries(ERROR_CODES)) assert.deepEqual(rows.get(code), { status: spec.status, retryable: spec.retryable }, code);
  });

  it('gives every GatewayError its status and retryability from the catalogue', () => {
    const e = new GatewayError('GW_STORE_UNAVAILABLE', 'x');
    assert.equal(e.status, 503);
    assert.equal(e.retryable, true);
    assert.deepEqual(e.problems, [{ code: 'GW_STORE_UNAVAILABLE', message: 'x' }]);
  });
});
