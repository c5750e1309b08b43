import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listAs2Keys } from '../../src/channels/as2/keys.js';
import { listHostKeys } from '../../src/channels/sftp/host-keys.js';
import { CredentialStore } from '../../src/security/credentials.js';
import { MasterKeys, parseMasterKey } from '../../src/security/secrets.js';
import { allowAs2, buildWithOpenssl, curlPost, opensslIdentity, type Identity } from '../helpers/as2.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { ACME_KEY, gatewaySuite, METRICS_TOKEN, waitFor } from '../helpers/gateway.js';
import { runCli } from '../helpers/cli.js';
import {
  ADMIN,
  adminCall,
  bearer,
  curlTls,
  editPartner,
  opensslAssertion,
  opensslFingerprint,
  opensslHmac,
  opensslRsaKey,
  sleep,
  tokenRequest,
} from '../helpers/security.js';
import { allowSftp, knownHosts, runSftp, sshKeygen } from '../helpers/sftp.js';
import { withControl } from '../helpers/x12.js';

// Long enough that both checks inside the overlap finish in it on a loaded machine (each may spawn openssl).
const OVERLAP = 5;
const sample856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));

/**
 * Rotation with overlap, for every credential kind: after `rotate`, the old and the new credential
 * both work; once the overlap has passed only the new one does; a revoked one stops at once.
 */
describe('credential rotation: old and new inside the overlap, only the new after it, revoked at once', function () {
  this.timeout(120_000);
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, SFTP: 'on', SFTP_LOGIN_DELAY_MS: '0', OAUTH_TOKEN_RATE_PER_MINUTE: '1000' } });
  let dir: string;
  before(() => (dir = mkdtempSync(path.join(tmpdir(), 'gw-rot-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const rotate = async (kind: string, partner: string | null, extra: Record<string, unknown> = {}) => {
    const r = await adminCall(s.url, 'POST', '/admin/v1/credentials/rotate', { kind, ...(partner ? { partner } : {}), overlapSeconds: OVERLAP, ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { credential: { ref: string; expiresAt: string | null }; secret?: string; retiring: { ref: string; expiresAt: string }[] };
  };
  const revoke = async (kind: string, ref: string) =>
    assert.equal((await adminCall(s.url, 'POST', `/admin/v1/credentials/${kind}/${encodeURIComponent(ref)}/revoke`)).status, 200);
  const issue = async (kind: string, partner: string | null, extra: Record<string, unknown> = {}) => {
    const r = await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind, ...(partner ? { partner } : {}), ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body as { credential: { ref: string }; secret?: string };
  };
  /** Waits until the overlap that began at `since` is over. */
  const overlapOver = (since: number) => sleep(Math.max(0, since + OVERLAP * 1000 + 300 - Date.now()));

  /** The three steps every kind goes through. */
  async function scenario<C>(o: { old: C; rotate: () => Promise<{ fresh: C; ref: string }>; works: (c: C) => Promise<boolean>; kind: string }) {
    assert.equal(await o.works(o.old), true, 'the current credential works before the rotation');
    const since = Date.now();
    const { fresh, ref } = await o.rotate();
    assert.deepEqual([await o.works(o.old), await o.works(fresh)], [true, true], 'inside the overlap both work');
    await overlapOver(since);
    assert.deepEqual([await o.works(o.old), await o.works(fresh)], [false, true], 'after the overlap only the new one works');
    await revoke(o.kind, ref);
    assert.equal(await o.works(fresh), false, 'a revoked credential stops at once');
  }

  it('API key (from the partner profile to one issued by the admin API)', async () => {
    await scenario({
      kind: 'api-key',
      old: ACME_KEY,
      rotate: async () => {
        const r = await rotate('api-key', 'acme-supply');
        assert.match(r.secret as string, /^gw_[a-z0-9]+_/, 'prefixed and identifiable');
        assert.deepEqual(
          r.retiring.map((c) => c.ref),
          ['acmedemo'],
        );
        return { fresh: r.secret as string, ref: r.credential.ref };
      },
      works: async (k) => (await bearer(s.url, 'GET', '/v1/outbound', k)).status === 200,
    });
    const list = await adminCall(s.url, 'GET', '/admin/v1/credentials?partner=acme-supply&kind=api-key');
    assert.ok(!JSON.stringify(list.body).includes('sha256'), 'hashes are never shown');
  });

  it('OAuth client secret', async () => {
    const first = await issue('client-secret', 'northwind');
    await scenario({
      kind: 'client-secret',
      old: first.secret as string,
      rotate: async () => {
        const r = await rotate('client-secret', 'northwind');
        return { fresh: r.secret as string, ref: r.credential.ref };
      },
      works: async (secret) => (await tokenRequest(s.url, { basic: ['northwind', secret] })).status === 200,
    });
  });

  it('private_key_jwt public key (assertions signed by openssl)', async () => {
    const k1 = await opensslRsaKey(dir, 'k1');
    const k2 = await opensslRsaKey(dir, 'k2');
    await issue('jwt-key', 'globex-office', { material: k1.publicPem });
    const works = async (key: string) =>
      (
        await tokenRequest(s.url, {
          form: {
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await opensslAssertion(key, {
              iss: 'globex-office',
              sub: 'globex-office',
              aud: `${s.url}/oauth/token`,
              jti: randomUUID(),
              exp: Math.floor(Date.now() / 1000) + 60,
            }),
          },
        })
      ).status === 200;
    await scenario({
      kind: 'jwt-key',
      old: k1.key,
      rotate: async () => ({ fresh: k2.key, ref: (await rotate('jwt-key', 'globex-office', { material: k2.publicPem })).credential.ref }),
      works,
    });
  });

  it('our token-signing key: the next key is in the JWKS before it signs, the old one until its tokens expire', async () => {
    const secret = (await issue('client-secret', 'hansen-textil')).secret as string;
    const newToken = async () => (await tokenRequest(s.url, { basic: ['hansen-textil', secret] })).body.access_token as string;
    const kidOf = (t: string) => (JSON.parse(Buffer.from(t.split('.')[0] as string, 'base64url').toString()) as { kid: string }).kid;
    const jwks = async () => ((await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const works = async (t: string) => (await bearer(s.url, 'GET', '/v1/outbound', t)).status === 200;
    const oldToken = await newToken();
    const oldKid = kidOf(oldToken);
    const r = await rotate('signing-key', null, { publishSeconds: 3 });
    const nextKid = r.credential.ref;
    assert.deepEqual((await jwks()).sort(), [oldKid, nextKid].sort(), 'published before it signs');
    assert.equal(kidOf(await newToken()), oldKid, 'the old key still signs during the publish window');
    await sleep(3200);
    const fresh = await newToken();
    assert.equal(kidOf(fresh), nextKid, 'the new key signs once published long enough');
    assert.deepEqual([await works(oldToken), await works(fresh)], [true, true], "the old key's tokens keep working until they would have expired");
    await sleep(OVERLAP * 1000 + 300);
    assert.deepEqual([await works(oldToken), await works(fresh)], [false, true]);
    assert.deepEqual(await jwks(), [nextKid], 'the old key is no longer published');
    await revoke('signing-key', nextKid);
    assert.equal(await works(fresh), false, "a revoked signing key's tokens stop at once");
    assert.notEqual(kidOf(await newToken()), nextKid, 'and it signs nothing more');
  });

  it('mTLS client certificate (curl --cert)', async () => {
    const c1 = await opensslIdentity(dir, 'tls-old');
    const c2 = await opensslIdentity(dir, 'tls-new');
    const pinned = await opensslFingerprint(c1.cert);
    await editPartner(s.t.gw, s.t.partnersDir, 'northwind', (y) => `${y}mtls:\n  certificates:\n    - sha256: "${pinned}"\n`);
    const https = s.t.gw.https!;
    await scenario({
      kind: 'tls-cert',
      old: c1,
      rotate: async () => ({ fresh: c2, ref: (await rotate('tls-cert', 'northwind', { material: readFileSync(c2.cert, 'utf8') })).credential.ref }),
      works: async (c: Identity) => (await curlTls({ url: `${https.url}/v1/outbound`, caFile: https.certFile, cert: c })).status === 200,
    });
  });

  it('SSH key (OpenSSH sftp)', async () => {
    const k1 = await sshKeygen(dir, 'ssh-old');
    const k2 = await sshKeygen(dir, 'ssh-new');
    await allowSftp(s.t.gw, s.t.partnersDir, 'globex-office', [k1.publicKey]);
    const sftp = s.t.gw.sftp!;
    const kh = knownHosts(
      path.join(dir, 'known_hosts'),
      sftp.port,
      sftp.hostKeys.map((k) => k.publicKey),
    );
    const works = async (identity: string) =>
      (await runSftp({ port: sftp.port, user: 'globex-office', identity, knownHosts: kh, commands: ['ls /outbound'] })).code === 0;
    await scenario({
      kind: 'ssh-key',
      old: k1.identity,
      rotate: async () => ({ fresh: k2.identity, ref: (await rotate('ssh-key', 'globex-office', { material: k2.publicKey })).credential.ref }),
      works,
    });
    const logins = await adminCall(s.url, 'GET', '/admin/v1/audit?action=sftp.login&limit=50');
    const outcomes = (logins.body.entries as { outcome: string }[]).map((e) => e.outcome);
    assert.ok(outcomes.includes('ok') && outcomes.includes('denied'), 'SFTP logins are audited, refused ones too');
  });

  it('AS2 partner certificate (messages signed by openssl cms)', async () => {
    const a1 = await opensslIdentity(dir, 'as2-old');
    const a2 = await opensslIdentity(dir, 'as2-new');
    await allowAs2(s.t.gw, s.t.partnersDir, 'acme-supply', 'id: ACME-AS2\ncertificates: [certs/as2-old.pem]\nrequireSigned: true', { 'as2-old.pem': a1.cert });
    const works = async (signer: Identity) => {
      const built = await buildWithOpenssl(dir, {
        protection: 'signed',
        digest: 'sha256',
        payload: Buffer.from(withControl(sample856), 'latin1'),
        partner: signer,
        gatewayCert: '',
      });
      const headers = {
        'AS2-Version': '1.2',
        'AS2-From': 'ACME-AS2',
        'AS2-To': '"PARTNER-GATEWAY"',
        'Message-ID': `<${randomUUID()}@acme.example>`,
        'Disposition-Notification-To': 'as2@acme.example',
        ...built.headers,
      };
      const res = await curlPost(dir, `${s.url}/as2`, headers, built.body);
      assert.equal(res.status, 200);
      return /Disposition: automatic-action\/MDN-sent-automatically; processed\r?\n/i.test(res.body.toString('latin1'));
    };
    await scenario({
      kind: 'as2-cert',
      old: a1,
      rotate: async () => ({ fresh: a2, ref: (await rotate('as2-cert', 'acme-supply', { material: readFileSync(a2.cert, 'utf8') })).credential.ref }),
      works,
    });
  });

  it('inbound webhook secret (HMAC by openssl dgst -hmac)', async () => {
    await editPartner(s.t.gw, s.t.partnersDir, 'northwind', (y) => y.replace(/^channels: \[rest\]$/m, 'channels: [rest, webhook]'));
    const invoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'));
    // Each event is another delivery: a few seconds apart within the window, so no two signatures repeat.
    let n = 0;
    const start = Math.floor(Date.now() / 1000);
    const post = async (secret: string, t = start - 10 - n++, body = invoice) => {
      const mac = await opensslHmac(secret, Buffer.concat([Buffer.from(`${t}.`), body]));
      const res = await fetch(`${s.url}/v1/webhooks/northwind`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-gateway-signature': `t=${t},v1=${mac}` },
        body,
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const first = (await issue('webhook-secret', 'northwind')).secret as string;
    assert.match(first, /^whsec_/);
    // A replayed delivery (same timestamp, body and signature) and a stale timestamp are refused.
    const t = Math.floor(Date.now() / 1000);
    assert.equal((await post(first, t)).status, 202);
    const replay = await post(first, t);
    assert.deepEqual([replay.status, replay.body.error.code], [409, 'GW_WEBHOOK_REPLAY']);
    const stale = await post(first, t - 3600);
    assert.deepEqual([stale.status, stale.body.error.code], [401, 'GW_WEBHOOK_SIGNATURE']);
    const tampered = await fetch(`${s.url}/v1/webhooks/northwind`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gateway-signature': `t=${t},v1=${'0'.repeat(64)}` },
      body: invoice,
    });
    assert.equal(tampered.status, 401);
    const unknown = await fetch(`${s.url}/v1/webhooks/no-such-partner`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-gateway-signature': `t=${t},v1=${'0'.repeat(64)}` },
      body: invoice,
    });
    assert.equal(unknown.status, 403, 'an unknown partner answers like a known one without webhooks');
    await scenario({
      kind: 'webhook-secret',
      old: first,
      rotate: async () => {
        const r = await rotate('webhook-secret', 'northwind');
        return { fresh: r.secret as string, ref: r.credential.ref };
      },
      works: async (secret) => (await post(secret)).status === 202,
    });
  });

  it('ERP signing secret: deliveries carry a signature per active secret (two during the overlap), checked with openssl', async () => {
    const e1 = (await issue('erp-signing-secret', null)).secret as string;
    const deliverOne = async () => {
      const before = s.erp.requests.length;
      const key = (await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind: 'api-key', partner: 'acme-supply' })).body.secret as string;
      const sent = await bearer(s.url, 'POST', '/v1/messages', key, { contentType: 'application/edi-x12', data: withControl(sample856) });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const req = (
        await waitFor(
          'an ERP delivery',
          async () => s.erp.requests.slice(before),
          (r) => r.length > 0,
        )
      )[0]!;
      const header = String(req.headers['x-gateway-signature']);
      const t = /t=(\d+)/.exec(header)?.[1] as string;
      const sigs = [...header.matchAll(/v1=([0-9a-f]{64})/g)].map((m) => m[1]);
      const macWith = (secret: string) => opensslHmac(secret, Buffer.concat([Buffer.from(`${t}.`), req.raw]));
      return { sigs, macWith };
    };
    const one = await deliverOne();
    assert.deepEqual(one.sigs, [await one.macWith(e1)]);
    const since = Date.now();
    const e2 = (await rotate('erp-signing-secret', null)).secret as string;
    const two = await deliverOne();
    assert.deepEqual(new Set(two.sigs), new Set([await two.macWith(e1), await two.macWith(e2)]), 'both secrets sign during the overlap');
    await overlapOver(since);
    const after = await deliverOne();
    assert.deepEqual(after.sigs, [await after.macWith(e2)]);
  });

  it('the CLI rotates and revokes in another process, the running gateway follows at once, and the master key rotates', async () => {
    // The CLI runs asynchronously: a blocked event loop here would stall the gateway under test.
    const env = { DATABASE_URL: s.db.url, PARTNERS_DIR: s.t.partnersDir, MAPPINGS_DIR: path.join(REPO, 'mappings'), GATEWAY_DATA_DIR: s.t.dataDir };
    const cli = (...args: string[]) => runCli(args, { env });
    const issued = await cli('creds', 'issue', 'api-key', 'hansen-textil', '--expires', '10d', '--scopes', 'po:read ack:read');
    assert.equal(issued.status, 0, issued.stderr);
    const key = /^(gw_[a-z0-9]+_\S+)$/m.exec(issued.stdout)?.[1] as string;
    assert.ok(key, issued.stdout);
    assert.equal((await bearer(s.url, 'GET', '/v1/outbound', key)).status, 200);
    assert.equal((await bearer(s.url, 'GET', '/v1/messages/00000000-0000-0000-0000-000000000000', key)).status, 403, 'the key carries po:read ack:read only');
    const expiring = await cli('creds', 'expiring', '--within', '30');
    assert.equal(expiring.status, 1, 'something expires within 30 days');
    assert.match(expiring.stdout, /api-key\s+hansen-textil/);
    assert.equal((await cli('creds', 'expiring', '--within', '0')).status, 0);
    const metrics = await adminCall(s.url, 'GET', '/metrics', undefined, METRICS_TOKEN);
    assert.match(metrics.body.text, /gateway_credential_expiry_seconds\{kind="api-key",ref="[0-9a-f]+",partner="hansen-textil",source="store"\} \d+/);
    const ref = /^api-key\s+hansen-textil\s+(\S+)/m.exec(issued.stdout)?.[1] as string;
    assert.equal((await cli('creds', 'revoke', 'api-key', ref)).status, 0);
    assert.equal((await bearer(s.url, 'GET', '/v1/outbound', key)).status, 401, 'revoked by another process, refused here at once');
    const audit = await cli('audit', '--action', 'credential.');
    assert.match(audit.stdout, /cli:\S+ credential\.issue api-key:/);
    assert.match(audit.stdout, /cli:\S+ credential\.revoke api-key:/);
    assert.match(audit.stdout, /admin:admintest credential\.rotate/);

    // Master key rotation: every sealed secret re-wrapped; the old key alone no longer opens them.
    const newKeyFile = path.join(dir, 'master-2.key');
    const rot = await cli('secrets', 'rotate-master-key', newKeyFile);
    assert.equal(rot.status, 0, rot.stderr);
    assert.match(rot.stdout, /\d+ secret\(s\) re-wrapped and \d+ key file\(s\) re-sealed/);
    const oldKeys = MasterKeys.fromEnv({}, s.t.dataDir);
    const newKeys = new MasterKeys(parseMasterKey(readFileSync(newKeyFile, 'utf8'), newKeyFile));
    const sealed = (await s.db.knex('credentials').whereNotNull('secret').select('kind', 'ref', 'secret')) as { secret: { kek: string } }[];
    assert.ok(sealed.length >= 3 && sealed.every((r) => r.secret.kek === newKeys.id));
    const inNew = new CredentialStore(s.db.knex, newKeys, () => s.t.gw.config());
    const webhook = (await inNew.list({ kind: 'webhook-secret' }))[0]!;
    assert.match(inNew.open(webhook).toString(), /^whsec_/);
    assert.throws(() => new CredentialStore(s.db.knex, oldKeys, () => s.t.gw.config()).open(webhook), /GATEWAY_MASTER_KEY_PREVIOUS_FILE/);
    const both = new MasterKeys(parseMasterKey(readFileSync(newKeyFile, 'utf8'), 'new'), [
      parseMasterKey(readFileSync(path.join(s.t.dataDir, 'master.key'), 'utf8'), 'old'),
    ]);
    assert.match(both.open(webhook.secret!).toString(), /^whsec_/);
    // Our SFTP host keys and AS2 key pairs are files, sealed too, and re-sealed with the rest.
    const hostKeysDir = path.join(s.t.dataDir, 'sftp', 'host-keys');
    assert.equal(listHostKeys(hostKeysDir, newKeys).length, 2);
    assert.throws(() => listHostKeys(hostKeysDir, oldKeys), /GATEWAY_MASTER_KEY_PREVIOUS_FILE/);
    assert.ok(listAs2Keys(path.join(s.t.dataDir, 'as2', 'keys'), newKeys).length >= 1);
  });
});
