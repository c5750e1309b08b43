import assert from 'node:assert/strict';
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import { ERROR_CODES } from '../../src/errors.js';
import { hmacHex } from '../../src/security/webhooks.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { ACME_KEY, ERP, GLOBEX_KEY, gatewaySuite, HANSEN_KEY, NORTHWIND_KEY } from '../helpers/gateway.js';
import { ADMIN, adminCall, editPartner } from '../helpers/security.js';

/**
 * Property-based tests of the HTTP doors, driving the real in-process server on a loopback port:
 * whatever the body, headers or path, the answer is a success or a 4xx whose body carries a stable
 * code declared in src/errors.ts, never a 5xx, and it comes within a generous time bound.
 */
const KNOWN = new Set(Object.keys(ERROR_CODES));
/** Generous: a loaded 2-core machine answers in milliseconds; a hang is what this catches. */
const ANSWER_WITHIN_MS = 15_000;
const RUNS = Number(process.env.HTTP_PROPERTY_RUNS ?? 60);

const sample = (partner: string, file: string) => readFileSync(path.join(MAPPINGS, partner, 'samples', file));
const SAMPLES = {
  json: sample('northwind', 'invoice.json'),
  xml: sample('globex-office', 'ShipNoticeRequest-with-items.xml'),
  csv: sample('hansen-textil', 'bestand-2026-11-20.csv'),
  x12: sample('acme-supply', '856-004060-SOI.edi'),
};
const SENDERS = { json: NORTHWIND_KEY, xml: GLOBEX_KEY, csv: HANSEN_KEY, x12: ACME_KEY };
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const MEDIA = { json: 'application/json', xml: 'application/xml', csv: 'text/csv', x12: 'application/edi-x12' };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  ms: number;
}

let nextAddress = 0;
/**
 * One request with node:http (no client-side normalisation of the path or headers), each from
 * another loopback source address, so the per-address budgets of unauthenticated doors do not
 * turn every later run into a 429.
 */
function send(url: string, o: { method: string; path: string; headers?: Record<string, string>; body?: Buffer | string }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  const localAddress = `127.0.${1 + (Math.floor(nextAddress / 250) % 250)}.${1 + (nextAddress++ % 250)}`;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method: o.method, path: o.path, headers: o.headers, localAddress, timeout: ANSWER_WITHIN_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), ms: Date.now() - started }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_WITHIN_MS} ms`)));
    req.on('error', reject);
    req.end(o.body);
  });
}

/** The properties every answer holds. `oauth`: the token endpoint's RFC 6749 body shape. */
function checkAnswer(a: Answer, what: string, oauth = false): void {
  assert.ok(a.status < 500, `${what}: ${a.status} ${a.text.slice(0, 300)}`);
  assert.ok(a.ms < ANSWER_WITHIN_MS, `${what}: answered after ${a.ms} ms`);
  if (a.status < 400) return;
  const body = JSON.parse(a.text) as { code?: string; error?: { code?: string } | string };
  const code = oauth ? body.code : typeof body.error === 'object' ? body.error.code : undefined;
  assert.ok(code && KNOWN.has(code), `${what}: ${a.status} without a declared code: ${a.text.slice(0, 300)}`);
  if (oauth) assert.equal(typeof body.error, 'string', `${what}: an RFC 6749 error name`);
}

/** Header values node:http can send (visible ASCII and spaces), so the server, not the client, judges them. */
const headerText = (maxLength = 200) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

/** Bytes derived from a real sample: cut, spliced with junk, or replaced by it. */
function mutated(base: Buffer) {
  return fc.oneof(
    fc.uint8Array({ maxLength: 3000 }).map((u) => Buffer.from(u)),
    fc
      .tuple(fc.nat({ max: base.length }), fc.nat({ max: base.length }), fc.uint8Array({ maxLength: 64 }))
      .map(([a, b, junk]) => Buffer.concat([base.subarray(0, Math.min(a, b)), Buffer.from(junk), base.subarray(Math.max(a, b))])),
    fc.nat({ max: base.length }).map((n) => base.subarray(0, n)),
    fc.string({ unit: 'binary', maxLength: 500 }).map((s) => Buffer.from(s, 'utf8')),
  );
}

const bodies = {
  json: fc.oneof(
    fc.jsonValue({ maxDepth: 6 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    mutated(SAMPLES.json),
    fc.nat({ max: 5000 }).map((n) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`)),
  ),
  xml: fc.oneof(
    mutated(SAMPLES.xml),
    fc
      .tuple(fc.constantFrom('a', 'cXML', 'x:y', '!DOCTYPE', '?xml'), fc.string({ maxLength: 200 }), fc.nat({ max: 3000 }))
      .map(([tag, text, depth]) => Buffer.from(`${`<${tag}>`.repeat(depth)}${text}${`</${tag}>`.repeat(depth)}`)),
  ),
  csv: fc.oneof(
    mutated(SAMPLES.csv),
    fc
      .array(fc.array(fc.string({ maxLength: 20 }), { maxLength: 30 }), { maxLength: 30 })
      .map((rows) => Buffer.from(rows.map((r) => r.join(';')).join('\r\n'))),
  ),
  x12: mutated(SAMPLES.x12),
};

describe('the HTTP doors under random input (fast-check, real server)', function () {
  this.timeout(180_000);
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, OAUTH_TOKEN_RATE_PER_MINUTE: '100000' } });
  let webhookSecret: string;
  /** The private half of acme-supply's registered private_key_jwt key: some assertions are correctly signed. */
  let clientKey: KeyObject;
  before(async () => {
    const pair = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
    clientKey = pair.privateKey;
    const jwtKey = await adminCall(s.url, 'POST', '/admin/v1/credentials', {
      kind: 'jwt-key',
      partner: 'acme-supply',
      material: pair.publicKey.export({ type: 'spki', format: 'pem' }),
    });
    assert.equal(jwtKey.status, 201, JSON.stringify(jwtKey.body));
    for (const id of ['northwind', 'acme-supply', 'globex-office', 'hansen-textil']) {
      await editPartner(s.t.gw, s.t.partnersDir, id, (y) => {
        const withWebhook = y.replace(/^channels: \[rest\]$/m, 'channels: [rest, webhook]').replace(/^limits:.*\n/m, '');
        return `${withWebhook}limits: { maxBytes: 65536, requestsPerMinute: 100000 }\n`;
      });
    }
    const r = await adminCall(s.url, 'POST', '/admin/v1/credentials', { kind: 'webhook-secret', partner: 'northwind' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    webhookSecret = r.body.secret;
  });
  afterEach(async () => {
    const health = await send(s.url, { method: 'GET', path: '/healthz' });
    assert.equal(health.status, 200, 'the gateway still serves');
  });

  it('POST /v1/messages: arbitrary JSON, XML, CSV and X12 bodies from a demo partner', async () => {
    const format = fc.constantFrom('json', 'xml', 'csv', 'x12') as fc.Arbitrary<keyof typeof SAMPLES>;
    const contentType = (f: keyof typeof MEDIA) =>
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(MEDIA[f]) },
        { weight: 1, arbitrary: fc.constantFrom(`${MEDIA[f]}; charset=latin1`, 'text/plain', '', 'application/json; x="', MEDIA[f].toUpperCase()) },
        { weight: 1, arbitrary: headerText(60) },
      );
    const input = format.chain((f) =>
      fc.record({
        f: fc.constant(f),
        body: bodies[f],
        type: contentType(f),
        key: fc.option(headerText(80), { freq: 8 }),
        correlation: fc.option(headerText(140)),
      }),
    );
    await fc.assert(
      fc.asyncProperty(input, async ({ f, body, type, key, correlation }) => {
        const headers: Record<string, string> = { authorization: `Bearer ${SENDERS[f]}`, 'content-type': type };
        if (key !== null) headers['idempotency-key'] = key;
        if (correlation !== null) headers['x-correlation-id'] = correlation;
        const a = await send(s.url, { method: 'POST', path: '/v1/messages', headers, body });
        checkAnswer(a, `${f} ${type} ${body.length} bytes`);
        if (a.status === 202) assert.match((JSON.parse(a.text) as { messageId: string }).messageId, /^[0-9a-f-]{36}$/);
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /v1/webhooks/{partner}: arbitrary signature headers and bodies, some correctly signed', async () => {
    const now = () => Math.floor(Date.now() / 1000);
    const hex64 = fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: 0, maxLength: 70 });
    const header = fc.oneof(
      headerText(300),
      fc
        .tuple(
          fc.oneof(
            fc.integer({ min: -5000, max: 5000 }).map((d) => String(now() + d)),
            headerText(20),
          ),
          fc.array(hex64, { maxLength: 4 }),
          fc.boolean(),
        )
        .map(([t, sigs, spaces]) => [`t=${t}`, ...sigs.map((x) => `v1=${x}`)].join(spaces ? ', ' : ',')),
    );
    const input = fc.record({
      partner: fc.oneof(
        { weight: 5, arbitrary: fc.constant('northwind') },
        { weight: 1, arbitrary: fc.constantFrom('acme-supply', 'no-such', '..', '%2e%2e', 'northwind%00', encodeURIComponent('ñ')) },
      ),
      signed: fc.boolean(),
      header,
      body: fc.oneof(bodies.json, mutated(SAMPLES.json)),
      type: fc.oneof(fc.constant('application/json'), headerText(40)),
    });
    await fc.assert(
      fc.asyncProperty(input, async ({ partner, signed, header: h, body, type }) => {
        const t = now();
        const signature = signed ? `t=${t},v1=${hmacHex(webhookSecret, t, body)}` : h;
        const a = await send(s.url, {
          method: 'POST',
          path: `/v1/webhooks/${partner}`,
          headers: { 'content-type': type, 'x-gateway-signature': signature },
          body,
        });
        checkAnswer(a, `webhook ${partner} ${signature.slice(0, 80)}`);
        if (!signed) assert.notEqual(a.status, 202, 'accepted without a valid signature');
      }),
      { numRuns: RUNS },
    );
  });

  it('POST /oauth/token: arbitrary forms, Basic headers and client assertions', async () => {
    const b64 = (v: string) => Buffer.from(v).toString('base64url');
    const claim = fc.oneof(fc.jsonValue({ maxDepth: 1 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.integer());
    const claims = fc.record({
      iss: fc.oneof({ weight: 4, arbitrary: fc.constant('acme-supply') }, { weight: 1, arbitrary: claim }),
      sub: fc.oneof({ weight: 4, arbitrary: fc.constant('acme-supply') }, { weight: 1, arbitrary: claim }),
      aud: fc.oneof({ weight: 4, arbitrary: fc.constant(`${s.url}/oauth/token`) }, { weight: 1, arbitrary: claim }),
      exp: fc.oneof(
        { weight: 4, arbitrary: fc.integer({ min: -120, max: 900 }).map((d) => Math.floor(Date.now() / 1000) + d) },
        { weight: 1, arbitrary: claim },
      ),
      jti: fc.oneof(
        fc.uuid(),
        claim,
        fc.tuple(fc.uuid(), fc.constantFrom('\u0000', '\u0001', '\n')).map(([u, c]) => `${u}${c}`),
      ),
      nbf: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: claim }),
    });
    const kid = fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: headerText(20) });
    const signedAssertion = fc.tuple(claims, fc.constantFrom('RS256', 'PS256'), kid).map(([c, alg, kid]) => ({ c, alg, kid }));
    const forgedAssertion = fc
      .tuple(fc.jsonValue({ maxDepth: 2 }), claims, headerText(40))
      .map(([h, c, sig]) =>
        [b64(JSON.stringify(typeof h === 'object' && h && !Array.isArray(h) ? { alg: 'RS256', ...h } : h)), b64(JSON.stringify(c)), sig].join('.'),
      );
    const field = fc.constantFrom('grant_type', 'client_id', 'client_secret', 'scope', 'client_assertion', 'client_assertion_type', 'x');
    const value = fc.oneof(
      headerText(100),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.constantFrom('client_credentials', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', 'acme-supply', 'asn:write status:read'),
      forgedAssertion,
    );
    const pairs = fc.array(fc.tuple(field, value), { maxLength: 6 });
    const basicPart = fc.oneof(
      headerText(40),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.constantFrom('acme-supply', '%', '%zz', '%E0%A4%A', '+', 'gw_acmedemo_x'),
    );
    const authorization = fc.option(
      fc.oneof(
        fc.tuple(basicPart, basicPart).map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
        headerText(120).map((x) => `Basic ${x}`),
        headerText(120),
      ),
      { freq: 2 },
    );
    const input = fc.record({
      kind: fc.constantFrom('basic', 'assertion', 'signed', 'signed', 'raw'),
      pairs,
      raw: fc.oneof(headerText(300), fc.string({ unit: 'binary', maxLength: 200 })),
      signed: signedAssertion,
      forged: forgedAssertion,
      authorization,
      type: fc.oneof({ weight: 8, arbitrary: fc.constant('application/x-www-form-urlencoded') }, { weight: 1, arbitrary: headerText(40) }),
    });
    const encode = (list: [string, string][]) => list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
    const audited = async () => Number((await s.db.knex('audit_log').where('action', 'oauth.token').count('* as n').first())?.n);
    const before = await audited();
    let handled = 0;
    await fc.assert(
      fc.asyncProperty(input, async (x) => {
        const grant: [string, string][] = [['grant_type', 'client_credentials']];
        let body = x.raw;
        if (x.kind === 'basic') body = encode([...grant, ...x.pairs.filter(([k]) => k !== 'client_assertion')]);
        if (x.kind === 'assertion') body = encode([...grant, ['client_assertion_type', JWT_BEARER], ['client_assertion', x.forged], ...x.pairs]);
        if (x.kind === 'signed') {
          const jwt = await new SignJWT(x.signed.c as Record<string, unknown>)
            .setProtectedHeader({ alg: x.signed.alg, ...(x.signed.kid !== null ? { kid: x.signed.kid } : {}) })
            .sign(clientKey);
          body = encode([...grant, ['client_assertion_type', JWT_BEARER], ['client_assertion', jwt]]);
        }
        const auth = x.kind === 'basic' || x.kind === 'raw' ? x.authorization : null;
        const a = await send(s.url, {
          method: 'POST',
          path: '/oauth/token',
          headers: { 'content-type': x.type, ...(auth !== null ? { authorization: auth } : {}) },
          body,
        });
        checkAnswer(a, `token (${x.kind}) ${auth ?? ''} ${body.slice(0, 300)}`, true);
        if (x.kind !== 'signed') assert.notEqual(a.status, 200, 'a token without valid credentials');
        if (x.type === 'application/x-www-form-urlencoded' && a.status !== 413) handled++;
      }),
      { numRuns: RUNS },
    );
    assert.equal((await audited()) - before, handled, 'every token request, granted or refused, left an audit entry');
  });

  it('id routes and admin parameters: arbitrary path segments and query strings', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 60 }).map(encodeURIComponent),
      fc.uuid().map((u) => u.replace(/-/g, (d) => (Math.random() < 0.5 ? d : ''))),
      fc.constantFrom('-'.repeat(36), '0'.repeat(36), '%', '%zz', '%E0%A4%A', '%00', '..', '%2F', '00000000-0000-0000-0000-000000000000'),
      fc.string({ unit: fc.constantFrom(...'0123456789abcdef-%'), maxLength: 40 }),
    );
    const routes = [
      (x: string) => ({ method: 'GET', path: `/v1/outbound/${x}`, key: NORTHWIND_KEY }),
      (x: string) => ({ method: 'DELETE', path: `/v1/outbound/${x}`, key: NORTHWIND_KEY }),
      (x: string) => ({ method: 'GET', path: `/v1/messages/${x}`, key: ACME_KEY }),
      (x: string) => ({ method: 'GET', path: `/v1/erp/messages/${x}`, key: ERP.key }),
      (x: string) => ({ method: 'POST', path: `/v1/erp/partners/${x}/purchase-orders`, key: ERP.key }),
      (x: string) => ({ method: 'POST', path: `/admin/v1/credentials/${x}/${x}x/revoke`, key: ADMIN.key }),
      (x: string) => ({ method: 'POST', path: `/admin/v1/credentials/api-key/${x}/revoke`, key: ADMIN.key }),
      (x: string) => ({ method: 'GET', path: `/admin/v1/audit?since=${x}&limit=${x}&actor=${x}&action=${x}`, key: ADMIN.key }),
      (x: string) => ({ method: 'GET', path: `/admin/v1/credentials/expiring?withinDays=${x}`, key: ADMIN.key }),
      (x: string) => ({ method: 'GET', path: `/admin/v1/credentials?kind=${x}&partner=${x}`, key: ADMIN.key }),
      (x: string) => ({ method: fc.sample(fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'POST'), 1)[0] as string, path: `/v1/outbound/${x}`, key: NORTHWIND_KEY }),
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: routes.length - 1 }), segment, async (which, x) => {
        const r = (routes[which] as (x: string) => { method: string; path: string; key: string })(x);
        const a = await send(s.url, {
          method: r.method,
          path: r.path,
          headers: { authorization: `Bearer ${r.key}`, 'content-type': 'application/json' },
          body: r.method === 'POST' ? '{}' : undefined,
        });
        checkAnswer(a, `${r.method} ${r.path}`);
      }),
      { numRuns: RUNS * 2 },
    );
  });

  it('POST /v1/erp/partners/{partner}/purchase-orders: arbitrary and nearly valid canonical orders', async () => {
    const order = {
      purchaseOrderNumber: 'PO-FUZZ',
      orderDate: '2026-11-23',
      currency: 'USD',
      shipTo: { name: 'DC East', id: '0099', street: '1 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07101', country: 'US' },
      lines: [{ lineNumber: '1', vendorSku: '87787D', quantity: 24, unit: 'each', unitPrice: 1.25 }],
    };
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '9'.repeat(400)));
    const field = fc.constantFrom('purchaseOrderNumber', 'orderDate', 'currency', 'shipTo', 'lines', 'extra');
    const edited = fc
      .array(fc.tuple(field, fc.oneof(text, fc.jsonValue({ maxDepth: 3 }), fc.double())), { maxLength: 3 })
      .map((edits) => JSON.stringify({ ...order, ...Object.fromEntries(edits) }));
    const spliced = fc
      .tuple(
        text,
        fc.constantFrom<(o: typeof order, t: string) => unknown>(
          (o, t) => ({ ...o, purchaseOrderNumber: `PO-${t}` }),
          (o, t) => ({ ...o, shipTo: { ...o.shipTo, name: t } }),
          (o, t) => ({ ...o, lines: [{ ...o.lines[0], vendorSku: t }] }),
          (o, t) => ({ ...o, [t]: 1 }),
        ),
      )
      .map(([t, put]) => JSON.stringify(put(order, t)));
    const nested = fc.nat({ max: 20_000 }).map((n) => `{"purchaseOrderNumber":${'['.repeat(n)}${']'.repeat(n)}}`);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('acme-supply', 'northwind', 'globex-office'),
        fc.oneof(
          { weight: 3, arbitrary: edited },
          { weight: 3, arbitrary: spliced },
          { weight: 1, arbitrary: nested },
          { weight: 1, arbitrary: headerText(200) },
        ),
        async (partner, body) => {
          const a = await send(s.url, {
            method: 'POST',
            path: `/v1/erp/partners/${partner}/purchase-orders`,
            headers: { authorization: `Bearer ${ERP.key}`, 'content-type': 'application/json' },
            body,
          });
          checkAnswer(a, `purchase order for ${partner}: ${body.slice(0, 200)}`);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('admin bodies: arbitrary JSON for issue and rotate', async () => {
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.double(),
      fc.integer(),
      fc.constantFrom(
        1e300,
        -1,
        0,
        '1e300',
        'notadate',
        '-271821-04-20',
        '9999-12-31T23:59:59Z',
        'northwind',
        'api-key',
        'webhook-secret',
        'north\u0000wind',
        '\ud800',
      ),
    );
    const plausible = <T>(v: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: v }, { weight: 1, arbitrary: value });
    const body = fc.record(
      {
        kind: plausible(fc.constantFrom('api-key', 'client-secret', 'webhook-secret', 'signing-key', 'erp-signing-secret')),
        partner: plausible(fc.constant('northwind')),
        overlapSeconds: plausible(fc.oneof(fc.nat({ max: 1000 }), fc.double(), fc.constantFrom(1e300, -1, Number.MAX_SAFE_INTEGER))),
        publishSeconds: plausible(fc.oneof(fc.nat({ max: 1000 }), fc.constantFrom(1e300, -1))),
        expiresAt: plausible(
          fc.oneof(
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.constantFrom('2030-01-01', 'notadate', '-271821-04-20', '+275760-09-13T00:00:00Z'),
          ),
        ),
        scopes: plausible(fc.array(fc.oneof(fc.constantFrom('asn:write', 'status:read'), fc.string({ unit: 'binary', maxLength: 20 })), { maxLength: 3 })),
      },
      { requiredKeys: ['kind'] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/admin/v1/credentials', '/admin/v1/credentials/rotate'),
        fc.oneof(
          body.map((b) => JSON.stringify(b)),
          headerText(100),
        ),
        async (p, text) => {
          const a = await send(s.url, {
            method: 'POST',
            path: p,
            headers: { authorization: `Bearer ${ADMIN.key}`, 'content-type': 'application/json' },
            body: text,
          });
          checkAnswer(a, `POST ${p} ${text.slice(0, 200)}`);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
