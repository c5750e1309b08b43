import assert from 'node:assert/strict';
import { generateKeyPair, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { exportJWK, SignJWT } from 'jose';
import { MAPPINGS } from '../helpers/corpus.js';
import { withControl } from '../helpers/x12.js';
import { ERP, gatewaySuite, METRICS_TOKEN, waitFor } from '../helpers/gateway.js';
import { opensslIdentity } from '../helpers/as2.js';
import { openssl } from '../helpers/cli.js';
import {
  ADMIN,
  adminCall,
  b64url,
  bearer,
  curlTls,
  editPartner,
  forgeWithGatewayKey,
  opensslAssertion,
  opensslCa,
  opensslFingerprint,
  opensslRsaKey,
  tokenRequest,
} from '../helpers/security.js';

const sample856 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'));
const ORDER = {
  purchaseOrderNumber: 'PO-SEC-1',
  orderDate: '2026-11-23',
  currency: 'USD',
  shipTo: { name: 'Distributor DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
  lines: [{ lineNumber: '1', vendorSku: '87787D', quantity: 24, unit: 'each', unitPrice: 1.25 }],
};

/** The external identity provider: a JWKS on a loopback port and the key that signs its tokens. */
const idp = { key: generateKeyPairSync('rsa', { modulusLength: 2048 }), server: undefined as Server | undefined, url: '' };

describe('security: tokens, scopes, tenant isolation, mTLS and the token endpoint', function () {
  this.timeout(60_000);
  const env: Record<string, string> = {
    ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`,
    OAUTH_TOKEN_RATE_PER_MINUTE: '1000',
    OAUTH_EXTERNAL_ISSUER: 'https://idp.example.test',
    OAUTH_EXTERNAL_AUDIENCE: 'partner-gateway-api',
  };
  before(async () => {
    const jwk = { ...(await exportJWK(idp.key.publicKey)), kid: 'idp-1', alg: 'RS256', use: 'sig' };
    idp.server = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => idp.server!.listen(0, '127.0.0.1', r));
    env.OAUTH_EXTERNAL_JWKS_URL = `http://127.0.0.1:${(idp.server!.address() as AddressInfo).port}/jwks`;
  });
  after(() => idp.server?.close());
  const s = gatewaySuite({ env });
  let dir: string;
  const secret: Record<string, string> = {};
  const token: Record<string, string> = {};
  let acmeMessage: string;
  let acmeOutbound: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gw-sec-'));
    for (const p of ['acme-supply', 'northwind']) {
      const r = await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind: 'client-secret', partner: p });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      secret[p] = r.body.secret;
      const t = await tokenRequest(s.url, { basic: [p, r.body.secret] });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      token[p] = t.body.access_token;
    }
    const sent = await bearer(s.url, 'POST', '/v1/messages', token['acme-supply'], { contentType: 'application/edi-x12', data: sample856 });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    acmeMessage = sent.body.messageId;
    const po = await fetch(`${s.url}/v1/erp/partners/acme-supply/purchase-orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(ORDER),
    });
    assert.equal(po.status, 201);
    acmeOutbound = ((await po.json()) as { messageId: string }).messageId;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe('the matrix: every protected endpoint × every kind of bad credential', () => {
    type Case = 'none' | 'expired' | 'wrongAudience' | 'wrongIssuer' | 'tampered' | 'algNone' | 'missingScope' | 'otherPartner' | 'right';
    const tokens: Partial<Record<Case, string>> = {};
    before(async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: s.t.gw.security.tokens.settings.issuer,
        sub: 'acme-supply',
        client_id: 'acme-supply',
        aud: 'partner-gateway',
        scope: 'asn:write invoice:write po:read ack:read status:read',
        jti: randomUUID(),
        iat: now,
        exp: now + 300,
      };
      tokens.right = token['acme-supply'];
      tokens.expired = await forgeWithGatewayKey(s.t.gw, { ...claims, iat: now - 900, exp: now - 600 });
      tokens.wrongAudience = await forgeWithGatewayKey(s.t.gw, { ...claims, aud: 'another-api' });
      tokens.wrongIssuer = await forgeWithGatewayKey(s.t.gw, { ...claims, iss: 'https://issuer.example.test' });
      const [h, p, sig] = (tokens.right as string).split('.') as [string, string, string];
      const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
      tokens.tampered = `${h}.${p}.${flipped}`;
      tokens.algNone = `${b64url({ alg: 'none', typ: 'JWT' })}.${p}.`;
      tokens.otherPartner = token.northwind;
    });
    /** A token of the right partner whose scopes lack what the endpoint needs. */
    const narrow = async (scope: string) =>
      (await tokenRequest(s.url, { basic: ['acme-supply', secret['acme-supply'] as string], form: { scope } })).body.access_token as string;

    const endpoints: {
      name: string;
      call: (tok: string | undefined) => Promise<{ status: number; body: Record<string, any> }>;
      lacking: string;
      right: number;
      other: (r: { status: number; body: Record<string, any> }) => Promise<void>;
    }[] = [
      {
        name: 'POST /v1/messages',
        call: (tok) => bearer(s.url, 'POST', '/v1/messages', tok, { contentType: 'application/edi-x12', data: sample856 }),
        lacking: 'status:read',
        right: 202,
        other: async (r) => {
          // Accepted, but as northwind's: acme cannot see it.
          assert.equal(r.status, 202);
          assert.equal((await bearer(s.url, 'GET', `/v1/messages/${r.body.messageId}`, token['acme-supply'])).status, 404);
          assert.equal((await bearer(s.url, 'GET', `/v1/messages/${r.body.messageId}`, token.northwind)).status, 200);
        },
      },
      {
        name: 'GET /v1/messages/{id}',
        call: (tok) => bearer(s.url, 'GET', `/v1/messages/${acmeMessage}`, tok),
        lacking: 'asn:write',
        right: 200,
        other: async (r) => {
          assert.equal(r.status, 404);
          assert.deepEqual(
            r.body,
            (await bearer(s.url, 'GET', `/v1/messages/${randomUUID()}`, token.northwind)).body.error ? { error: { ...r.body.error } } : {},
            'the same answer as for an id that does not exist',
          );
          assert.ok(!JSON.stringify(r.body).includes('acme'));
        },
      },
      {
        name: 'GET /v1/outbound',
        call: (tok) => bearer(s.url, 'GET', '/v1/outbound', tok),
        lacking: 'asn:write',
        right: 200,
        other: async (r) => {
          assert.equal(r.status, 200);
          assert.ok(!(r.body.items as { id: string }[]).some((i) => i.id === acmeOutbound), "another partner's mailbox never shows acme's documents");
        },
      },
      {
        name: 'GET /v1/outbound/{id}',
        call: (tok) => bearer(s.url, 'GET', `/v1/outbound/${acmeOutbound}`, tok),
        lacking: 'ack:read',
        right: 200,
        other: async (r) => assert.equal(r.status, 404),
      },
      {
        name: 'DELETE /v1/outbound/{id}',
        call: (tok) => bearer(s.url, 'DELETE', `/v1/outbound/${acmeOutbound}`, tok),
        lacking: 'ack:read',
        right: 204,
        other: async (r) => {
          assert.equal(r.status, 404);
          assert.equal((await bearer(s.url, 'GET', `/v1/outbound/${acmeOutbound}`, token['acme-supply'])).status, 200, 'still in the mailbox');
        },
      },
    ];

    for (const e of endpoints) {
      describe(e.name, () => {
        it('no token: 401 GW_AUTH_MISSING', async () => {
          const r = await e.call(undefined);
          assert.equal(r.status, 401);
          assert.equal(r.body.error.code, 'GW_AUTH_MISSING');
        });
        for (const bad of ['expired', 'wrongAudience', 'wrongIssuer', 'tampered', 'algNone'] as const) {
          it(`${bad}: 401 GW_AUTH_INVALID`, async () => {
            const r = await e.call(tokens[bad]);
            assert.equal(r.status, 401, JSON.stringify(r.body));
            assert.equal(r.body.error.code, 'GW_AUTH_INVALID');
          });
        }
        it('the ERP key or an admin key: 401 GW_AUTH_INVALID, for neither is a partner credential', async () => {
          for (const [name, key] of [
            ['ERP', ERP.key],
            ['admin', ADMIN.key],
          ] as const) {
            const r = await e.call(key);
            assert.equal(r.status, 401, `${name}: ${JSON.stringify(r.body)}`);
            assert.equal(r.body.error.code, 'GW_AUTH_INVALID', name);
          }
        });
        it(`missing scope (a token with only ${e.lacking}): 403 GW_AUTH_SCOPE`, async () => {
          const r = await e.call(await narrow(e.lacking));
          assert.equal(r.status, 403, JSON.stringify(r.body));
          assert.equal(r.body.error.code, 'GW_AUTH_SCOPE');
        });
        it("another partner's token: never acme's data", async () => e.other(await e.call(tokens.otherPartner)));
        it(`the right token: ${e.right}`, async () => {
          const r = await e.call(tokens.right);
          assert.equal(r.status, e.right, JSON.stringify(r.body));
        });
      });
    }

    describe('ERP and admin endpoints take their own keys, never a partner token', () => {
      const service = [
        {
          name: 'POST /v1/erp/partners/{p}/purchase-orders',
          call: (k?: string) =>
            fetch(`${s.url}/v1/erp/partners/acme-supply/purchase-orders`, {
              method: 'POST',
              headers: { ...(k ? { authorization: `Bearer ${k}` } : {}), 'content-type': 'application/json' },
              body: JSON.stringify({ ...ORDER, purchaseOrderNumber: `PO-${randomUUID().slice(0, 8)}` }),
            }),
          key: ERP.key,
          right: 201,
        },
        {
          name: 'GET /v1/erp/messages/{id}',
          call: (k?: string) => fetch(`${s.url}/v1/erp/messages/${acmeMessage}`, { headers: k ? { authorization: `Bearer ${k}` } : {} }),
          key: ERP.key,
          right: 200,
        },
        {
          name: 'GET /admin/v1/credentials',
          call: (k?: string) => fetch(`${s.url}/admin/v1/credentials`, { headers: k ? { authorization: `Bearer ${k}` } : {} }),
          key: ADMIN.key,
          right: 200,
        },
        {
          name: 'GET /admin/v1/audit',
          call: (k?: string) => fetch(`${s.url}/admin/v1/audit`, { headers: k ? { authorization: `Bearer ${k}` } : {} }),
          key: ADMIN.key,
          right: 200,
        },
        {
          name: 'GET /metrics',
          call: (k?: string) => fetch(`${s.url}/metrics`, { headers: k ? { authorization: `Bearer ${k}` } : {} }),
          key: METRICS_TOKEN,
          right: 200,
        },
      ];
      for (const e of service) {
        it(`${e.name}: none 401, every partner or forged token 401, the ERP key on admin routes 401, its own key ${e.right}`, async () => {
          assert.equal((await e.call()).status, 401);
          for (const c of ['expired', 'wrongAudience', 'wrongIssuer', 'tampered', 'algNone', 'otherPartner', 'right'] as const)
            assert.equal((await e.call(tokens[c])).status, 401, c);
          assert.equal((await e.call(e.key === ERP.key ? ADMIN.key : ERP.key)).status, 401, 'the other service key');
          assert.equal((await e.call(e.key)).status, e.right);
        });
        it(`${e.name}: a partner token or the other service key is 401 GW_AUTH_INVALID with a Bearer challenge`, async () => {
          for (const [name, key] of [
            ['partner token', tokens.right],
            ['other service key', e.key === ERP.key ? ADMIN.key : ERP.key],
          ] as const) {
            const r = await e.call(key);
            assert.equal(r.status, 401, name);
            assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="partner-gateway"', name);
            assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'GW_AUTH_INVALID', name);
          }
        });
      }
    });
  });

  describe('the token endpoint', () => {
    it('grants the requested scopes intersected with the allowed ones, says so, and publishes its keys by kid', async () => {
      const r = await tokenRequest(s.url, { basic: ['acme-supply', secret['acme-supply'] as string], form: { scope: 'asn:write pricelist:write po:read' } });
      assert.equal(r.status, 200);
      assert.equal(r.body.scope, 'asn:write po:read', 'pricelist:write is not among acme-supply’s allowed scopes');
      assert.equal(r.body.token_type, 'Bearer');
      assert.equal(r.body.expires_in, 300);
      const header = JSON.parse(Buffer.from((r.body.access_token as string).split('.')[0] as string, 'base64url').toString()) as { alg: string; kid: string };
      assert.equal(header.alg, 'ES256');
      const jwks = (await (await fetch(`${s.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string; d?: string }[] };
      assert.ok(jwks.keys.some((k) => k.kid === header.kid));
      assert.ok(
        jwks.keys.every((k) => k.d === undefined),
        'no private part is published',
      );
      const none = await tokenRequest(s.url, { basic: ['acme-supply', secret['acme-supply'] as string], form: { scope: 'pricelist:write' } });
      assert.equal(none.status, 400);
      assert.equal(none.body.error, 'invalid_scope');
    });

    it('refuses one of our tokens that is not valid yet (nbf) or has no exp', async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: s.t.gw.security.tokens.settings.issuer,
        sub: 'acme-supply',
        client_id: 'acme-supply',
        aud: 'partner-gateway',
        scope: 'status:read',
        jti: randomUUID(),
        iat: now,
      };
      const early = await bearer(s.url, 'GET', `/v1/messages/${acmeMessage}`, await forgeWithGatewayKey(s.t.gw, { ...claims, nbf: now + 600, exp: now + 900 }));
      assert.equal(early.status, 401);
      assert.match(early.body.error.message, /nbf/);
      assert.equal((await bearer(s.url, 'GET', `/v1/messages/${acmeMessage}`, await forgeWithGatewayKey(s.t.gw, claims))).status, 401, 'exp is required');
      assert.equal(
        (await bearer(s.url, 'GET', `/v1/messages/${acmeMessage}`, await forgeWithGatewayKey(s.t.gw, { ...claims, exp: now + 300 }))).status,
        200,
        'the same claims with exp pass',
      );
    });

    it('refuses a wrong secret, an unknown client, another grant type and client_secret_post with RFC 6749 errors', async () => {
      const wrong = await tokenRequest(s.url, { basic: ['acme-supply', `${secret['acme-supply']}x`] });
      assert.equal(wrong.status, 401);
      assert.deepEqual([wrong.body.error, wrong.body.code], ['invalid_client', 'GW_OAUTH_CLIENT']);
      assert.equal((await tokenRequest(s.url, { basic: ['nobody', 'x'] })).body.error, 'invalid_client');
      assert.equal(
        (await tokenRequest(s.url, { basic: ['northwind', secret['acme-supply'] as string] })).body.error,
        'invalid_client',
        "acme's secret is not northwind's",
      );
      const grant = await tokenRequest(s.url, { basic: ['acme-supply', secret['acme-supply'] as string], form: { grant_type: 'password' } });
      assert.deepEqual([grant.status, grant.body.error], [400, 'invalid_request']);
      const post = await tokenRequest(s.url, { form: { client_id: 'acme-supply', client_secret: secret['acme-supply'] as string } });
      assert.equal(post.status, 400);
    });

    describe('private_key_jwt, with client assertions signed by openssl dgst -sign', () => {
      let key: { key: string; publicPem: string };
      const aud = () => `${s.url}/oauth/token`;
      const claims = (over: Record<string, unknown> = {}) => ({
        iss: 'northwind',
        sub: 'northwind',
        aud: aud(),
        jti: randomUUID(),
        exp: Math.floor(Date.now() / 1000) + 120,
        ...over,
      });
      const ask = (assertion: string) =>
        tokenRequest(s.url, {
          form: { client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion, scope: 'invoice:write' },
        });
      before(async () => {
        key = await opensslRsaKey(dir, 'nw-jwt');
        const r = await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind: 'jwt-key', partner: 'northwind', material: key.publicPem });
        assert.equal(r.status, 201, JSON.stringify(r.body));
      });

      it('issues a token for a good assertion and refuses the same jti a second time', async () => {
        const assertion = await opensslAssertion(key.key, claims());
        const first = await ask(assertion);
        assert.equal(first.status, 200, JSON.stringify(first.body));
        assert.equal(first.body.scope, 'invoice:write');
        const again = await ask(assertion);
        assert.equal(again.status, 401);
        assert.match(again.body.error_description, /used before/);
      });

      it('refuses a wrong audience, a missing exp, iss ≠ sub, a long-lived assertion, alg none and a key that is not registered', async () => {
        for (const [what, a] of [
          ['aud', await opensslAssertion(key.key, claims({ aud: 'https://elsewhere.example/token' }))],
          ['exp', await opensslAssertion(key.key, { ...claims(), exp: undefined })],
          ['sub', await opensslAssertion(key.key, claims({ sub: 'acme-supply' }))],
          ['lifetime', await opensslAssertion(key.key, claims({ exp: Math.floor(Date.now() / 1000) + 7200 }))],
          ['alg none', `${b64url({ alg: 'none' })}.${b64url(claims())}.`],
          ['other key', await opensslAssertion((await opensslRsaKey(dir, 'stranger')).key, claims())],
        ] as const) {
          const r = await ask(a);
          assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.error, 'invalid_client', what);
        }
      });
    });

    it('accepts tokens of the external issuer for the partner mapped to its client id, with its scopes narrowed', async () => {
      await editPartner(s.t.gw, s.t.partnersDir, 'northwind', (y) => `${y}oauth:\n  externalSubjects: [nw-app-at-idp]\n`);
      const sign = (claims: Record<string, unknown>, key = idp.key.privateKey) =>
        new SignJWT(claims)
          .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
          .setIssuer('https://idp.example.test')
          .setAudience('partner-gateway-api')
          .setIssuedAt()
          .setExpirationTime('5m')
          .sign(key);
      const good = await sign({ client_id: 'nw-app-at-idp', scope: 'status:read pricelist:write' });
      const mine = (
        await bearer(s.url, 'POST', '/v1/messages', token.northwind, {
          contentType: 'application/json',
          data: readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json')),
        })
      ).body.messageId;
      const seen = await bearer(s.url, 'GET', `/v1/messages/${mine}`, good);
      assert.equal(seen.status, 200, JSON.stringify(seen.body));
      assert.equal((await bearer(s.url, 'GET', `/v1/messages/${acmeMessage}`, good)).status, 404, 'the mapped partner only');
      assert.equal((await bearer(s.url, 'GET', '/v1/outbound', good)).status, 403, 'status:read only');
      assert.equal((await bearer(s.url, 'GET', `/v1/messages/${mine}`, await sign({ client_id: 'unmapped-app', scope: 'status:read' }))).status, 401);
      // Made asynchronously: the gateway under test shares this event loop.
      const stranger = (await promisify(generateKeyPair)('rsa', { modulusLength: 2048 })).privateKey;
      assert.equal(
        (await bearer(s.url, 'GET', `/v1/messages/${mine}`, await sign({ client_id: 'nw-app-at-idp', scope: 'status:read' }, stranger))).status,
        401,
        'signed by a key the IdP does not publish',
      );
      const wrongAud = await new SignJWT({ client_id: 'nw-app-at-idp', scope: 'status:read' })
        .setProtectedHeader({ alg: 'RS256', kid: 'idp-1' })
        .setIssuer('https://idp.example.test')
        .setAudience('someone-else')
        .setExpirationTime('5m')
        .sign(idp.key.privateKey);
      assert.equal((await bearer(s.url, 'GET', `/v1/messages/${mine}`, wrongAud)).status, 401);
      // HS256 with the IdP's public key as the secret: the classic algorithm confusion.
      const pem = idp.key.publicKey.export({ format: 'pem', type: 'spki' }) as string;
      const hs = await new SignJWT({ client_id: 'nw-app-at-idp', scope: 'status:read' })
        .setProtectedHeader({ alg: 'HS256', kid: 'idp-1' })
        .setIssuer('https://idp.example.test')
        .setAudience('partner-gateway-api')
        .setExpirationTime('5m')
        .sign(Buffer.from(pem));
      assert.equal((await bearer(s.url, 'GET', `/v1/messages/${mine}`, hs)).status, 401);
    });
  });

  describe('mTLS on the HTTPS port (curl --cert)', () => {
    let pinned: { key: string; cert: string };
    let other: { key: string; cert: string };
    let ca: Awaited<ReturnType<typeof opensslCa>>;
    let hansen: { key: string; cert: string };
    const https = () => s.t.gw.https!;
    before(async () => {
      pinned = await opensslIdentity(dir, 'acme-client');
      other = await opensslIdentity(dir, 'unpinned-client');
      const fingerprint = await opensslFingerprint(pinned.cert);
      await editPartner(s.t.gw, s.t.partnersDir, 'acme-supply', (y) => `${y}mtls:\n  certificates:\n    - sha256: "${fingerprint}"\n`);
      const caDir = path.join(dir, 'ca');
      mkdirSync(caDir);
      ca = await opensslCa(caDir);
      hansen = await ca.issue('hansen-client', '/CN=hansen-textil/O=Hansen Textil GmbH');
      const certs = path.join(path.dirname(s.t.partnersDir), 'certs');
      mkdirSync(certs, { recursive: true });
      writeFileSync(path.join(certs, 'hansen-ca.pem'), readFileSync(ca.cert));
      await editPartner(
        s.t.gw,
        s.t.partnersDir,
        'hansen-textil',
        (y) => `${y}mtls:\n  ca: certs/hansen-ca.pem\n  subject: "CN=hansen-textil, O=Hansen Textil GmbH"\noauth:\n  certificateBound: true\n`,
      );
    });

    it('serves a certificate made locally that curl verifies for 127.0.0.1, and identifies a partner by its pinned certificate alone', async () => {
      const r = await curlTls({ url: `${https().url}/v1/outbound`, caFile: https().certFile, cert: pinned });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.ok(Array.isArray(r.body.items));
      const unpinned = await curlTls({ url: `${https().url}/v1/outbound`, caFile: https().certFile, cert: other });
      assert.equal(unpinned.status, 401);
      assert.equal(unpinned.body.error.code, 'GW_AUTH_CERTIFICATE');
      assert.equal((await curlTls({ url: `${https().url}/v1/outbound`, caFile: https().certFile })).status, 401, 'no certificate, no token');
    });

    it('tls_client_auth: a token for the client whose certificate is pinned, none for another certificate', async () => {
      const form = 'grant_type=client_credentials&client_id=acme-supply&scope=po:read';
      const ok = await curlTls({ url: `${https().url}/oauth/token`, caFile: https().certFile, method: 'POST', cert: pinned, data: form });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.scope, 'po:read');
      const refused = await curlTls({ url: `${https().url}/oauth/token`, caFile: https().certFile, method: 'POST', cert: other, data: form });
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, 'invalid_client');
    });

    it('certificate-bound tokens (CA + subject pinning): cnf.x5t#S256 is the certificate’s, and the token fails with another certificate or none', async () => {
      const form = 'grant_type=client_credentials&client_id=hansen-textil';
      const got = await curlTls({ url: `${https().url}/oauth/token`, caFile: https().certFile, method: 'POST', cert: hansen, data: form });
      assert.equal(got.status, 200, JSON.stringify(got.body));
      const tok = got.body.access_token as string;
      const cnf = (JSON.parse(Buffer.from(tok.split('.')[1] as string, 'base64url').toString()) as { cnf: Record<string, string> }).cnf['x5t#S256'];
      const der = await openssl(['x509', '-in', hansen.cert, '-outform', 'DER']);
      const expected = (await openssl(['dgst', '-sha256', '-binary'], der)).toString('base64url');
      assert.equal(cnf, expected);
      const auth = { authorization: `Bearer ${tok}` };
      assert.equal((await curlTls({ url: `${https().url}/v1/outbound`, caFile: https().certFile, cert: hansen, headers: auth })).status, 200);
      const sibling = await ca.issue('hansen-second', '/CN=hansen-textil/O=Hansen Textil GmbH');
      const withOther = await curlTls({ url: `${https().url}/v1/outbound`, caFile: https().certFile, cert: sibling, headers: auth });
      assert.equal(withOther.status, 401, 'same CA and subject, but not the bound certificate');
      assert.equal(withOther.body.error.code, 'GW_AUTH_CERTIFICATE');
      assert.equal((await bearer(s.url, 'GET', '/v1/outbound', tok)).status, 401, 'over plain HTTP there is no certificate');
      const wrongSubject = await ca.issue('hansen-wrong', '/CN=someone-else/O=Hansen Textil GmbH');
      assert.equal(
        (await curlTls({ url: `${https().url}/oauth/token`, caFile: https().certFile, method: 'POST', cert: wrongSubject, data: form })).status,
        401,
      );
      const plain = await tokenRequest(s.url, { form: { client_id: 'hansen-textil' } });
      assert.equal(plain.status, 401, 'no certificate-bound token without the certificate');
    });
  });

  describe('abuse limits', () => {
    it('answers 429 with Retry-After past the partner rate limit', async () => {
      await editPartner(
        s.t.gw,
        s.t.partnersDir,
        'globex-office',
        (y) => `${y.replace(/^limits:.*\n/m, '')}limits: { maxBytes: 65536, requestsPerMinute: 3 }\n`,
      );
      assert.equal(s.t.gw.config().partners.get('globex-office')?.limits.requestsPerMinute, 3);
      const t = await tokenRequest(s.url, {
        basic: ['globex-office', (await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind: 'client-secret', partner: 'globex-office' })).body.secret],
      });
      const statuses: number[] = [];
      let retryAfter: string | null = null;
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${s.url}/v1/outbound`, { headers: { authorization: `Bearer ${t.body.access_token}` } });
        statuses.push(res.status);
        if (res.status === 429) {
          retryAfter = res.headers.get('retry-after');
          assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'GW_RATE_LIMITED');
        }
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
      assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
      assert.equal((await bearer(s.url, 'GET', '/v1/outbound', token.northwind)).status, 200, 'other partners are not affected');
    });

    it('refuses a token request body over 16 KiB and a JSON body over the partner limit', async () => {
      const big = await fetch(`${s.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `grant_type=client_credentials&pad=${'x'.repeat(20_000)}`,
      });
      assert.equal(big.status, 413);
      const huge = await bearer(s.url, 'POST', '/v1/messages', token.northwind, { contentType: 'application/json', data: `{"pad":"${'x'.repeat(70_000)}"}` });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'GW_REQUEST_TOO_LARGE');
    });
  });

  describe('at interpretation, and in the audit log', () => {
    it('rejects, at interpretation, a document of a type the sender holds no write scope for', async () => {
      const asnOnly = (await tokenRequest(s.url, { basic: ['acme-supply', secret['acme-supply'] as string], form: { scope: 'invoice:write status:read' } }))
        .body.access_token as string;
      const r = await bearer(s.url, 'POST', '/v1/messages', asnOnly, { contentType: 'application/edi-x12', data: withControl(sample856) });
      assert.equal(r.status, 202, 'X12 may hold invoices; the type is known once interpreted');
      const st = await waitFor(
        'rejected',
        () => bearer(s.url, 'GET', `/v1/messages/${r.body.messageId}`, asnOnly),
        (x) => ['rejected', 'routed', 'delivered'].includes(x.body.state),
      );
      assert.equal(st.body.state, 'rejected', JSON.stringify(st.body));
      assert.ok(JSON.stringify(st.body).includes('GW_AUTH_SCOPE'));
    });

    it('leaves an audit entry for every grant and refusal, and the audit log refuses changes', async () => {
      const log = await adminCall(s.url, 'GET', '/admin/v1/audit?action=oauth.token&limit=200');
      const entries = log.body.entries as { outcome: string; actor: string; source: string; details: { method: string } }[];
      assert.ok(entries.some((e) => e.outcome === 'ok' && e.actor === 'partner:acme-supply' && e.details.method === 'client_secret_basic' && e.source));
      assert.ok(entries.some((e) => e.outcome === 'ok' && e.details.method === 'private_key_jwt'));
      assert.ok(entries.some((e) => e.outcome === 'denied'));
      await assert.rejects(s.db.knex('audit_log').update({ outcome: 'ok' }), /append-only/);
      await assert.rejects(s.db.knex('audit_log').del(), /append-only/);
    });
  });
});
