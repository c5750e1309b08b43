import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { parseDuration } from '../../src/security/creds-cli.js';
import { allowedScopes, grantedScopes, mailboxScope } from '../../src/security/scopes.js';
import { MasterKeys, masterKeyId } from '../../src/security/secrets.js';
import { signatureHeader, verifySignature } from '../../src/security/webhooks.js';
import type { PartnerProfile } from '../../src/types.js';

describe('secrets at rest (envelope encryption)', () => {
  const k1 = randomBytes(32);
  const k2 = randomBytes(32);

  it('seals with a data key of its own, wrapped by the master key, and opens again', () => {
    const keys = new MasterKeys(k1);
    const a = keys.seal('whsec_same');
    const b = keys.seal('whsec_same');
    assert.notEqual(a.data, b.data, 'a fresh data key and IV each time');
    assert.ok(!JSON.stringify(a).includes('whsec_same'));
    assert.equal(a.kek, masterKeyId(k1));
    assert.equal(keys.open(a).toString(), 'whsec_same');
  });

  it('refuses another master key, and a secret whose ciphertext or wrapped key was altered', () => {
    const sealed = new MasterKeys(k1).seal('secret');
    assert.throws(
      () => new MasterKeys(k2).open(sealed),
      (e: Error & { code?: string }) => e.code === 'GW_SECRET_KEY',
    );
    const data = Buffer.from(sealed.data, 'base64');
    data[data.length - 1]! ^= 1;
    assert.throws(() => new MasterKeys(k1).open({ ...sealed, data: data.toString('base64') }), /altered/);
  });

  it('re-wraps under a new master key without touching the secret; the previous key still opens during the rotation', () => {
    const old = new MasterKeys(k1);
    const sealed = old.seal('secret');
    const rewrapped = old.rewrap(sealed, k2);
    assert.equal(rewrapped.data, sealed.data, 'only the data key is re-wrapped');
    assert.equal(new MasterKeys(k2).open(rewrapped).toString(), 'secret');
    assert.equal(new MasterKeys(k2, [k1]).open(sealed).toString(), 'secret', 'not yet re-wrapped: opened with the previous key');
  });
});

describe('webhook signatures', () => {
  const body = Buffer.from('{"invoice":1}');
  it('matches what openssl computes for HMAC-SHA256 over "<t>.<body>"', () => {
    const now = 1_795_000_000_000;
    const header = signatureHeader(['whsec_a'], body, now);
    const t = Math.floor(now / 1000);
    const mac = execFileSync('openssl', ['dgst', '-sha256', '-hmac', 'whsec_a', '-hex'], {
      input: Buffer.concat([Buffer.from(`${t}.`), body]),
      encoding: 'utf8',
    })
      .trim()
      .split(/\s+/)
      .pop();
    assert.equal(header, `t=${t},v1=${mac}`);
    assert.equal(verifySignature(header, ['whsec_b', 'whsec_a'], body, 300, now).index, 1);
  });

  it('carries one signature per active secret, refuses other bodies, stale timestamps and malformed headers', () => {
    const now = Date.now();
    const header = signatureHeader(['one', 'two'], body, now);
    assert.equal(header.split('v1=').length - 1, 2);
    assert.equal(verifySignature(header, ['two'], body, 300, now).index, 0);
    const refused = (h: string | undefined, b = body, at = now) =>
      assert.throws(
        () => verifySignature(h, ['one'], b, 300, at),
        (e: Error & { code?: string }) => e.code === 'GW_WEBHOOK_SIGNATURE',
      );
    refused(header, Buffer.from('{"invoice":2}'));
    refused(header, body, now + 301_000);
    refused(undefined);
    refused('v1=abc');
    refused(`t=${Math.floor(now / 1000)},v1=${'0'.repeat(64)}`);
  });
});

describe('scopes', () => {
  const partner = {
    id: 'p',
    inbound: [
      { type: 'asn', mapping: 'x' },
      { type: 'po-ack', mapping: 'y' },
    ],
  } as unknown as PartnerProfile;
  it('derives the allowed scopes from what the partner sends, and narrows a credential to them', () => {
    assert.deepEqual([...allowedScopes(partner)].sort(), ['ack:read', 'asn:write', 'po:read', 'poack:write', 'status:read']);
    assert.deepEqual([...grantedScopes(partner, ['asn:write', 'invoice:write'])], ['asn:write']);
    assert.deepEqual([...allowedScopes({ ...partner, security: { scopes: ['asn:write'] } })], ['asn:write']);
    assert.equal(mailboxScope('997'), 'ack:read');
    assert.equal(mailboxScope('TA1'), 'ack:read');
    assert.equal(mailboxScope('purchase-order'), 'po:read');
  });

  it('reads durations for overlaps and expiries', () => {
    assert.deepEqual(
      ['7d', '12h', '30m', '45s', '90'].map((d) => parseDuration(d, 'x')),
      [604_800, 43_200, 1800, 45, 90],
    );
    assert.throws(() => parseDuration('1w', '--overlap'), /--overlap/);
  });
});
