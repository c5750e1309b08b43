import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { generateKeyPair } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { pino } from 'pino';
import { readSettings } from '../../src/config/env.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { MAPPINGS, REPO } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver } from '../helpers/erp.js';
import { ERP, NORTHWIND_KEY, testPartners } from '../helpers/gateway.js';
import { ADMIN, adminCall, bearer, editPartner } from '../helpers/security.js';

const run = promisify(execFile);
const invoice = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'invoice.json'));

/** HMAC-SHA256 over `<t>.<body>` by `openssl dgst -hmac`, run asynchronously beside the in-process gateway. */
async function opensslHmac(secret: string, t: number, body: Buffer): Promise<string> {
  const child = run('openssl', ['dgst', '-sha256', '-hmac', secret, '-hex'], { encoding: 'utf8' });
  child.child.stdin?.end(Buffer.concat([Buffer.from(`${t}.`), body]));
  return (await child).stdout.trim().split(/\s+/).pop() as string;
}

/** A gateway whose log lines at warn and above are kept, to show what a hostile request leaves there. */
async function capturingGateway(db: TestDatabase, erpUrl: string) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gw-hostile-'));
  const partnersDir = path.join(dataDir, 'partners');
  await mkdir(partnersDir);
  for (const [name, text] of Object.entries(testPartners(erpUrl))) await writeFile(path.join(partnersDir, name), text);
  const env = {
    PORT: '0',
    HOST: '127.0.0.1',
    GATEWAY_DATA_DIR: dataDir,
    PARTNERS_DIR: partnersDir,
    MAPPINGS_DIR: path.join(REPO, 'mappings'),
    POLL_MS: '50',
    ERP_API_KEYS: `erptest:${ERP.sha256}`,
    ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`,
    SFTP: 'off',
    HTTPS: 'off',
    LOG_LEVEL: 'warn',
  };
  const settings = readSettings(env);
  const logs: Record<string, any>[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (logs.push(JSON.parse(String(chunk)) as Record<string, any>), done()) });
  const gw = await startGateway({ settings, knex: db.knex, log: pino({ level: 'warn' }, sink), env });
  return { gw, partnersDir, logs, close: async () => (await gw.stop(), await rm(dataDir, { recursive: true, force: true })) };
}

describe('hostile HTTP requests: clear 4xx answers, webhook abuse and replays', function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let erp: ErpReceiver;
  let t: Awaited<ReturnType<typeof capturingGateway>>;
  let gw: Gateway;
  let url: string;
  before(async () => {
    db = await freshDatabase();
    erp = new ErpReceiver();
    await erp.start();
    t = await capturingGateway(db, erp.url);
    gw = t.gw;
    url = gw.url;
  });
  after(async () => {
    await t?.close();
    await erp?.stop();
    await db?.drop();
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
      const signed = await webhook(`t=${signedT},v1=${await opensslHmac(secret, signedT, invoice)}`);
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
      const [old, fresh] = await Promise.all([opensslHmac(secret, ts, body), opensslHmac(next, ts, body)]);
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
      assert.equal((await webhook(`t=${later},v1=${await opensslHmac(next, later, body)}`, body)).status, 202);
    });

    it('with an Idempotency-Key: a replay is 409, a new delivery reusing the key is the earlier message', async () => {
      const body = Buffer.from(invoice.toString('utf8').replace(/"invoiceNumber"\s*:\s*"[^"]*"/, '"invoiceNumber": "NW-IDEM-1"'));
      const ts = Math.floor(Date.now() / 1000) - 30;
      const sig = `t=${ts},v1=${await opensslHmac(secret, ts, body)}`;
      const first = await webhook(sig, body, { 'idempotency-key': 'nw-wh-1' });
      assert.equal(first.status, 202, JSON.stringify(first.body));
      const replay = await webhook(sig, body, { 'idempotency-key': 'nw-wh-1' });
      assert.deepEqual([replay.status, replay.body.error?.code], [409, 'GW_WEBHOOK_REPLAY']);
      const retry = await webhook(`t=${ts + 1},v1=${await opensslHmac(secret, ts + 1, body)}`, body, { 'idempotency-key': 'nw-wh-1' });
      assert.deepEqual([retry.status, retry.body.messageId, retry.body.duplicate], [202, first.body.messageId, true]);
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
        assert.equal(code, status === 429 ? 'GW_RATE_LIMITED' : 'GW_WEBHOOK_SIGNATURE');
      }
      assert.equal(status, 429, 'the address is limited after its budget of refused requests');
      assert.ok(Number(retryAfter) >= 1);
      assert.equal((await bearer(url, 'GET', '/v1/outbound', NORTHWIND_KEY)).status, 200, "the partner's REST calls are not affected");
    });
  });
});
