import assert from 'node:assert/strict';
import { generateKeyPair } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import type { Gateway } from '../../src/server.js';
import { MAPPINGS } from '../helpers/corpus.js';
import type { TestDatabase } from '../helpers/db.js';
import { ERP, gatewaySuite, NORTHWIND_KEY, type TestGateway } from '../helpers/gateway.js';
import { ADMIN, adminCall, bearer, editPartner, opensslHmac } from '../helpers/security.js';

const invoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'));

/** The webhook signature's HMAC over `<t>.<body>`, by `openssl dgst -hmac`. */
const signWebhook = (secret: string, t: number, body: Buffer) => opensslHmac(secret, Buffer.concat([Buffer.from(`${t}.`), body]));

describe('hostile HTTP requests: clear 4xx answers, webhook abuse and replays', function () {
  this.timeout(60_000);
  // Log lines at warn and above are kept, to show what a hostile request leaves there.
  const suite = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, HTTPS: 'off' }, captureLogs: true });
  let db: TestDatabase;
  let t: TestGateway;
  let gw: Gateway;
  let url: string;
  before(() => {
    ({ db, t, url } = suite);
    gw = t.gw;
  });

  const webhook = (signature: string | undefined, body: Buffer | string = invoice, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/webhooks/northwind`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-gateway-signature': signature } : {}), ...headers },
      body,
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, any> }));

  describe('malformed ids, parameters and credentials are 4xx with a stable code, never 500', () => {
    const oddIds = ['-'.repeat(36), '0'.repeat(36), `${'0'.repeat(8)}-0000-0000-0000-${'0'.repeat(11)}g`, '{00000000-0000-0000-0000-000000000000}'];
    for (const id of oddIds) {
      it(`GET and DELETE /v1/outbound/${id}, GET /v1/messages/… and /v1/erp/messages/…: 404 GW_NOT_FOUND`, async () => {
        for (const [method, p, key] of [
          ['GET', `/v1/outbound/${id}`, NORTHWIND_KEY],
          ['DELETE', `/v1/outbound/${id}`, NORTHWIND_KEY],
          ['GET', `/v1/messages/${id}`, NORTHWIND_KEY],
          ['GET', `/v1/erp/messages/${id}`, ERP.key],
        ] as const) {
          const r = await bearer(url, method, p, key);
          assert.deepEqual([r.status, r.body.error?.code], [404, 'GW_NOT_FOUND'], `${method} ${p}: ${JSON.stringify(r.body)}`);
        }
      });
    }

    it('a malformed %-escape in HTTP Basic client credentials: 401 invalid_client, and nothing logged as a server error', async () => {
      for (const pair of ['acme-supply:secret%', 'acme%zz:secret', 'acme-supply:%E0%A4%A']) {
        const res = await fetch(`${url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(pair).toString('base64')}` },
          body: 'grant_type=client_credentials',
        });
        const body = (await res.json()) as Record<string, string>;
        assert.deepEqual([res.status, body.error, body.code], [401, 'invalid_client', 'GW_OAUTH_CLIENT'], JSON.stringify(body));
        assert.match(body.error_description as string, /form-urlencoded/);
      }
      assert.deepEqual(
        t.logs.filter((l) => l.level >= 50),
        [],
        'no error-level log line (with a stack) for a client mistake',
      );
    });

    it('a client assertion whose jti is not a plain string (a NUL, an object): 401 invalid_client, and the refusal is audited', async () => {
      const pair = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
      const issued = await adminCall(url, 'POST', '/admin/v1/credentials', {
        kind: 'jwt-key',
        partner: 'acme-supply',
        material: pair.publicKey.export({ type: 'spki', format: 'pem' }),
      });
      assert.equal(issued.status, 201, JSON.stringify(issued.body));
      const assertion = (jti: unknown) =>
        new SignJWT({ iss: 'acme-supply', sub: 'acme-supply', aud: `${url}/oauth/token`, exp: Math.floor(Date.now() / 1000) + 60, jti } as Record<
          string,
          unknown
        >)
          .setProtectedHeader({ alg: 'RS256' })
          .sign(pair.privateKey);
      const ask = async (jti: unknown) => {
        const res = await fetch(`${url}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
            client_assertion: await assertion(jti),
          }),
        });
        return { status: res.status, body: (await res.json()) as Record<string, string> };
      };
      for (const jti of ['a\u0000b', { x: 1 }, 12, '']) {
        const r = await ask(jti);
        assert.deepEqual(
          [r.status, r.body.error, r.body.code],
          [401, 'invalid_client', 'GW_OAUTH_CLIENT'],
          `jti ${JSON.stringify(jti)}: ${JSON.stringify(r.body)}`,
        );
      }
      assert.equal((await ask('a-plain-jti')).status, 200);
      const nul = await fetch(`${url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('acme%00supply:x').toString('base64')}` },
        body: 'grant_type=client_credentials',
      });
      assert.equal(nul.status, 401);
      const log = await adminCall(url, 'GET', '/admin/v1/audit?action=oauth.token&limit=20');
      assert.ok(
        (log.body.entries as { actor: string; outcome: string }[]).some((e) => e.actor === 'client:acme\ufffdsupply' && e.outcome === 'denied'),
        'a refusal is audited even when the client id carries a NUL',
      );
      assert.deepEqual(
        t.logs.filter((l) => l.level >= 50),
        [],
      );
    });

    it('an ERP purchase order holding a NUL or a lone surrogate: 400 GW_REQUEST_INVALID with its JSON path, not a 500', async () => {
      const order = {
        purchaseOrderNumber: 'PO-NUL-1',
        orderDate: '2026-11-23',
        currency: 'USD',
        shipTo: { name: 'DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
        lines: [{ lineNumber: '1', vendorSku: '87787D', quantity: 24, unit: 'each', unitPrice: 1.25 }],
      };
      const cases: [unknown, string][] = [
        [{ ...order, purchaseOrderNumber: 'PO-\u0000' }, '$.purchaseOrderNumber'],
        [{ ...order, shipTo: { ...order.shipTo, name: 'DC \ud800' } }, '$.shipTo.name'],
        [{ ...order, lines: [{ ...order.lines[0], vendorSku: '\u0000' }] }, '$.lines[0].vendorSku'],
      ];
      for (const [body, jsonPath] of cases) {
        for (const partner of ['acme-supply', 'northwind']) {
          const res = await fetch(`${url}/v1/erp/partners/${partner}/purchase-orders`, {
            method: 'POST',
            headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
          const answer = (await res.json()) as { error: { code: string; location?: { jsonPath?: string } } };
          assert.deepEqual([res.status, answer.error.code, answer.error.location?.jsonPath], [400, 'GW_REQUEST_INVALID', jsonPath], JSON.stringify(answer));
        }
      }
      const fine = await fetch(`${url}/v1/erp/partners/acme-supply/purchase-orders`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
        body: JSON.stringify(order),
      });
      assert.equal(fine.status, 201);
      assert.deepEqual(
        t.logs.filter((l) => l.level >= 50),
        [],
      );
    });

    it('admin query and body parameters out of range: 400 with GW_REQUEST_INVALID or GW_CRED_INVALID', async () => {
      const bad: [string, string, unknown, string][] = [
        ['GET', '/admin/v1/audit?since=notadate', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/audit?since=-271821-04-20', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/audit?limit=-1', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/audit?limit=1e300', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/audit?limit=abc', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/audit?actor=a%00b', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/audit?action=a&action=b', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/credentials/expiring?withinDays=1e308', undefined, 'GW_REQUEST_INVALID'],
        ['GET', '/admin/v1/credentials?partner=%00', undefined, 'GW_REQUEST_INVALID'],
        ['POST', '/admin/v1/credentials/rotate', { kind: 'webhook-secret', partner: 'northwind', overlapSeconds: 1e300 }, 'GW_CRED_INVALID'],
        ['POST', '/admin/v1/credentials/rotate', { kind: 'webhook-secret', partner: 'northwind', overlapSeconds: -1 }, 'GW_CRED_INVALID'],
        ['POST', '/admin/v1/credentials/rotate', { kind: 'webhook-secret', partner: 'northwind', overlapSeconds: '60' }, 'GW_CRED_INVALID'],
        ['POST', '/admin/v1/credentials/rotate', { kind: 'signing-key', publishSeconds: 1e300 }, 'GW_CRED_INVALID'],
        ['POST', '/admin/v1/credentials', { kind: 'api-key', partner: 'northwind', expiresAt: '-271821-04-20T00:00:00Z' }, 'GW_CRED_INVALID'],
        ['POST', '/admin/v1/credentials', { kind: 'api-key', partner: 'north\u0000wind' }, 'GW_CRED_INVALID'],
        ['POST', '/admin/v1/credentials/api-key/a%00b/revoke', undefined, 'GW_CRED_INVALID'],
      ];
      for (const [method, p, body, code] of bad) {
        const r = await adminCall(url, method, p, body);
        assert.deepEqual([r.status, r.body.error?.code], [400, code], `${method} ${p} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      }
      const fine = await adminCall(url, 'GET', '/admin/v1/audit?since=2026-01-01&limit=1000');
      assert.equal(fine.status, 200, JSON.stringify(fine.body));
      assert.deepEqual(
        t.logs.filter((l) => l.level >= 50),
        [],
      );
    });
  });

  describe('webhooks', () => {
    let secret: string;
    before(async () => {
      await editPartner(
        gw,
        t.partnersDir,
        'northwind',
        (y) =>
          `${y.replace(/^channels: \[rest\]$/m, 'channels: [rest, webhook]').replace(/^limits:.*\n/m, '')}limits: { maxBytes: 65536, requestsPerMinute: 5 }\n`,
      );
      const r = await adminCall(url, 'POST', '/admin/v1/credentials', { kind: 'webhook-secret', partner: 'northwind' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      secret = r.body.secret;
    });

    it('unsigned and badly signed posts are not charged to the partner: its own REST calls still succeed', async () => {
      const now = Math.floor(Date.now() / 1000);
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push((await webhook(i % 2 ? undefined : `t=${now},v1=${'0'.repeat(64)}`, `{"n":${i}}`)).status);
      assert.deepEqual([...new Set(answers)], [401]);
      const rest = await bearer(url, 'GET', '/v1/outbound', NORTHWIND_KEY);
      assert.equal(rest.status, 200, `the partner's budget of 5 per minute is untouched: ${JSON.stringify(rest.body)}`);
      const signedT = Math.floor(Date.now() / 1000);
      const signed = await webhook(`t=${signedT},v1=${await signWebhook(secret, signedT, invoice)}`);
      assert.equal(signed.status, 202, JSON.stringify(signed.body));
      // The suite goes on with a budget that its own requests do not exhaust.
      await editPartner(gw, t.partnersDir, 'northwind', (y) => y.replace('requestsPerMinute: 5', 'requestsPerMinute: 600'));
    });

    it('a request signed with both secrets during a rotation is refused when presented again with either signature alone (409 GW_WEBHOOK_REPLAY)', async () => {
      const rotated = await adminCall(url, 'POST', '/admin/v1/credentials/rotate', { kind: 'webhook-secret', partner: 'northwind', overlapSeconds: 600 });
      assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
      const next = rotated.body.secret as string;
      const body = Buffer.from(invoice.toString('utf8').replace(/"invoiceNumber"\s*:\s*"[^"]*"/, '"invoiceNumber": "NW-ROT-1"'));
      const ts = Math.floor(Date.now() / 1000);
      const [old, fresh] = await Promise.all([signWebhook(secret, ts, body), signWebhook(next, ts, body)]);
      const first = await webhook(`t=${ts},v1=${old},v1=${fresh}`, body);
      assert.equal(first.status, 202, JSON.stringify(first.body));
      for (const sig of [`t=${ts},v1=${old}`, `t=${ts},v1=${fresh}`, `t=${ts},v1=${fresh},v1=${old}`, `v1=${fresh},t=${ts}`]) {
        const again = await webhook(sig, body);
        assert.deepEqual([again.status, again.body.error?.code], [409, 'GW_WEBHOOK_REPLAY'], `${sig}: ${JSON.stringify(again.body)}`);
      }
      const stored = await db.knex('messages').where({ partner_id: 'northwind', channel: 'webhook' }).whereRaw('raw = ?', [body]).count('* as n').first();
      assert.equal(Number(stored?.n), 1, 'the message was stored once');
      // The same body with a new timestamp is a new delivery.
      const later = ts + 1;
      assert.equal((await webhook(`t=${later},v1=${await signWebhook(next, later, body)}`, body)).status, 202);
    });

    it('with an Idempotency-Key: a replay is 409, a new delivery reusing the key is the earlier message', async () => {
      const body = Buffer.from(invoice.toString('utf8').replace(/"invoiceNumber"\s*:\s*"[^"]*"/, '"invoiceNumber": "NW-IDEM-1"'));
      const ts = Math.floor(Date.now() / 1000) - 30;
      const sig = `t=${ts},v1=${await signWebhook(secret, ts, body)}`;
      const first = await webhook(sig, body, { 'idempotency-key': 'nw-wh-1' });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const replay = await webhook(sig, body, { 'idempotency-key': 'nw-wh-1' });
      assert.deepEqual([replay.status, replay.body.error?.code], [409, 'GW_WEBHOOK_REPLAY']);
      const retry = await webhook(`t=${ts + 1},v1=${await signWebhook(secret, ts + 1, body)}`, body, { 'idempotency-key': 'nw-wh-1' });
      assert.deepEqual([retry.status, retry.body.messageId, retry.body.duplicate], [202, first.body.messageId, true]);
    });

    it('a partner without the webhook channel and an unknown partner id get one answer that names both causes and the fix', async () => {
      const now = Math.floor(Date.now() / 1000);
      const answer = async (id: string) => {
        const res = await fetch(`${url}/v1/webhooks/${id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gateway-signature': `t=${now},v1=${'0'.repeat(64)}` },
          body: '{}',
        });
        const { error } = (await res.json()) as { error: { code: string; message: string } };
        return { status: res.status, code: error.code, message: error.message.replace(id, '<id>') };
      };
      const known = await answer('acme-supply');
      assert.deepEqual([known.status, known.code], [403, 'GW_AUTH_FORBIDDEN']);
      assert.match(known.message, /either no partner has that id, or its profile does not list `webhook` under channels.*adds `webhook`/);
      assert.deepEqual(await answer('no-such-partner'), known, 'an unknown id learns nothing more than a known one');
    });

    it('refused webhook posts are limited per source address (429), apart from the partner budget', async () => {
      const now = Math.floor(Date.now() / 1000);
      let status = 0;
      let retryAfter: string | null = null;
      for (let i = 0; i < 200 && status !== 429; i++) {
        const res = await fetch(`${url}/v1/webhooks/no-such-partner`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-gateway-signature': `t=${now},v1=${'0'.repeat(64)}` },
          body: '{}',
        });
        status = res.status;
        retryAfter = res.headers.get('retry-after');
        const code = ((await res.json()) as { error: { code: string } }).error.code;
        assert.equal(code, status === 429 ? 'GW_RATE_LIMITED' : 'GW_AUTH_FORBIDDEN');
      }
      assert.equal(status, 429, 'the address is limited after its budget of refused requests');
      assert.ok(Number(retryAfter) >= 1);
      assert.equal((await bearer(url, 'GET', '/v1/outbound', NORTHWIND_KEY)).status, 200, "the partner's REST calls are not affected");
    });

    it('REST from a partner whose profile does not list rest: 403 naming the channel to add', async () => {
      await editPartner(gw, t.partnersDir, 'northwind', (y) => y.replace(/^channels: \[rest, webhook\]$/m, 'channels: [webhook]'));
      try {
        const res = await bearer(url, 'POST', '/v1/messages', NORTHWIND_KEY, { contentType: 'application/json', data: invoice });
        assert.equal(res.status, 403);
        assert.equal(res.body.error.code, 'GW_AUTH_FORBIDDEN');
        assert.match(res.body.error.message, /Partner northwind may not send over REST: .*does not list `rest` under channels \(it lists webhook\)/);
      } finally {
        await editPartner(gw, t.partnersDir, 'northwind', (y) => y.replace(/^channels: \[webhook\]$/m, 'channels: [rest, webhook]'));
      }
    });
  });
});
