import assert from 'node:assert/strict';
import { VerificationCache } from '../../src/security/verification-cache.js';

describe('VerificationCache: answers kept only while changes are heard, never across a change', () => {
  const trusted = () => {
    const c = new VerificationCache<string>(1000, 3);
    c.trust(true);
    return c;
  };

  it('keeps nothing until it is trusted, and forgets everything when trust ends', () => {
    const c = new VerificationCache<string>();
    c.set('k', 'v', c.begin());
    assert.equal(c.get('k'), undefined);
    c.trust(true);
    c.set('k', 'v', c.begin());
    assert.deepEqual(c.get('k')?.value, 'v');
    c.trust(false);
    assert.equal(c.get('k'), undefined);
    c.set('k', 'v', c.begin());
    assert.equal(c.size, 0);
  });

  it('drops an answer read before a change, even if it arrives after it', () => {
    const c = trusted();
    const generation = c.begin();
    c.invalidate(); // a revocation heard while the database was being asked
    c.set('k', 'stale', generation);
    assert.equal(c.get('k'), undefined);
    c.set('k', 'fresh', c.begin());
    assert.equal(c.get('k')?.value, 'fresh');
  });

  it('keeps an answer for ttlMs at most, and at most maxEntries answers (the oldest go first)', () => {
    const c = trusted();
    c.set('a', '1', c.begin(), 0);
    assert.equal(c.get('a', 1000)?.value, '1');
    assert.equal(c.get('a', 1001), undefined);
    for (const k of ['a', 'b', 'c', 'd']) c.set(k, k, c.begin(), 5000);
    assert.equal(c.size, 3);
    assert.equal(c.get('a', 5000), undefined);
    assert.equal(c.get('d', 5000)?.value, 'd');
  });

  it('keeps "unknown" answers too, so a flood of wrong keys does not reach the database, within the same bound', () => {
    const c = new VerificationCache<string | undefined>(1000, 2);
    c.trust(true);
    c.set('wrong', undefined, c.begin());
    assert.ok(c.get('wrong'), 'an unknown key is an answer too');
    assert.equal(c.get('wrong')?.value, undefined);
  });
});
