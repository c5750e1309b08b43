import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { CredentialStore } from '../../src/security/credentials.js';
import { ACME_KEY, gatewaySuite, status, waitFor } from '../helpers/gateway.js';
import { ADMIN, adminCall, tokenRequest } from '../helpers/security.js';

/**
 * "Last used" on credentials (security pages, admin API, `creds list`): set when a credential
 * authenticates someone, not when it is refused; this process shows it at once, another process
 * once it is written (every CREDENTIAL_USAGE_FLUSH_MS).
 */
describe('credentials: when each was last used', function () {
  this.timeout(60_000);
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, CREDENTIAL_USAGE_FLUSH_MS: '200', OAUTH_TOKEN_RATE_PER_MINUTE: '1000' } });

  const lastUse = async (partner: string, ref: string): Promise<string | null> => {
    const r = await adminCall(s.url, 'GET', `/admin/v1/credentials?partner=${partner}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const c = (r.body.credentials as { ref: string; lastUsedAt: string | null }[]).find((x) => x.ref === ref);
    assert.ok(c, `credential ${ref} is listed`);
    return c.lastUsedAt;
  };
  const issue = async (kind: string, partner: string) => {
    const r = await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind, partner });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { credential: { ref: string }; secret: string };
  };

  it('an API key: unused is "never", a request sets it, another process sees it after the flush, a refused one does not move it', async () => {
    const key = await issue('api-key', 'acme-supply');
    assert.equal(await lastUse('acme-supply', key.credential.ref), null, 'a new key has not been used');
    const before = Date.now();
    assert.equal((await status(s.url, key.secret, randomUUID())).status, 404, 'authenticated (no such message)');
    const seen = await lastUse('acme-supply', key.credential.ref);
    assert.ok(seen && Date.parse(seen) >= before - 1000 && Date.parse(seen) <= Date.now(), `last used now, got ${seen}`);
    assert.equal(await lastUse('acme-supply', 'acmedemo'), null, "the profile's key was not used");

    const elsewhere = new CredentialStore(s.db.knex, s.t.gw.security.keys, s.t.gw.config);
    const written = await waitFor(
      'the last use written for other processes',
      async () => (await elsewhere.list({ partnerId: 'acme-supply' })).find((c) => c.ref === key.credential.ref)?.lastUsedAt,
      (d) => Boolean(d),
    );
    assert.equal(written?.toISOString(), seen);

    await adminCall(s.url, 'POST', `/admin/v1/credentials/api-key/${key.credential.ref}/revoke`);
    assert.equal((await status(s.url, key.secret, randomUUID())).status, 401, 'a revoked key is refused');
    assert.equal(await lastUse('acme-supply', key.credential.ref), seen, 'a refused attempt is not a use');
  });

  it("a profile's key and an OAuth client secret are noted too", async () => {
    await status(s.url, ACME_KEY, randomUUID());
    assert.ok(await lastUse('acme-supply', 'acmedemo'), "the profile's API key has a last use");
    const secret = await issue('client-secret', 'northwind');
    assert.equal((await tokenRequest(s.url, { basic: ['northwind', 'gwcs_nope_wrongwrongwrongwrongwrongwrongwrong'] })).status, 401);
    assert.equal(await lastUse('northwind', secret.credential.ref), null, 'a wrong secret uses nothing');
    assert.equal((await tokenRequest(s.url, { basic: ['northwind', secret.secret] })).status, 200);
    assert.ok(await lastUse('northwind', secret.credential.ref), 'the client secret that got a token has a last use');
  });

  it('written uses never move backwards (two processes flushing out of order)', async () => {
    const a = new CredentialStore(s.db.knex, s.t.gw.security.keys, s.t.gw.config);
    const b = new CredentialStore(s.db.knex, s.t.gw.security.keys, s.t.gw.config);
    a.usage.note('ssh-key', 'SHA256:order', new Date('2026-11-30T10:00:00Z'));
    b.usage.note('ssh-key', 'SHA256:order', new Date('2026-11-30T09:00:00Z'));
    assert.equal(await a.flushUsage(), 1);
    assert.equal(await b.flushUsage(), 1);
    assert.equal(await b.flushUsage(), 0, 'nothing left to write');
    const [row] = await s.db.knex('credential_usage').where({ kind: 'ssh-key', ref: 'SHA256:order' });
    assert.equal((row.last_used_at as Date).toISOString(), '2026-11-30T10:00:00.000Z');
  });
});
