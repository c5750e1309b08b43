import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isBrowserPage } from '../../src/channels/http/openapi/browser-pages.js';
import { SECTIONS } from '../../src/channels/http/openapi/document.js';
import { signatureHeader } from '../../src/security/webhooks.js';
import { addUser } from '../../src/security/users.js';
import { ERP, gatewaySuite, NORTHWIND_KEY, post, waitFor } from '../helpers/gateway.js';
import { DocumentSchemas, type OpenApiDoc, type Operation, operations, type Parameter } from '../helpers/openapi.js';
import { ERP_ORDER, sendOrder } from '../helpers/orders.js';
import { PortalClient } from '../helpers/portal-client.js';
import { REPO } from '../helpers/corpus.js';
import { ADMIN, adminCall, editPartner } from '../helpers/security.js';

const PASSWORD = 'reference reader password 1';

/** Where a route that is not described belongs: the section owning the longest prefix of its path. */
function whereToDescribe(path: string): string {
  const owner = SECTIONS.flatMap((s) => s.owns.filter((p) => path.startsWith(p)).map((p) => ({ s, p }))).sort((a, b) => b.p.length - a.p.length)[0];
  return owner
    ? `describe it in ${owner.s.file} (the section owning ${owner.p})`
    : 'no section owns this path: add it to a section in src/channels/http/openapi/ (listed in SECTIONS, document.ts), ' +
        'or, for an HTML page, to isBrowserPage in src/channels/http/openapi/browser-pages.ts';
}

describe('OpenAPI document (/openapi.json)', function () {
  this.timeout(60_000);
  const s = gatewaySuite({ env: { ADMIN_API_KEYS: `admintest:${ADMIN.sha256}`, ERP_EVENT_URLS: 'https://erp.example.com/' } });
  let doc: OpenApiDoc;
  let schemas: DocumentSchemas;

  before(async () => {
    // The subscription examples register URLs on the allow-lists (the ERP's above, Northwind's here);
    // a document naming a PO Northwind was never sent waits for a person (the exception and hold examples).
    await editPartner(
      s.t.gw,
      s.t.partnersDir,
      'northwind',
      (y) => `${y}events:\n  urls: ["https://hooks.northwind.example/gateway/"]\ntolerances:\n  unknownPo: { action: hold }\n`,
    );
    const res = await fetch(`${s.url}/openapi.json`);
    assert.equal(res.status, 200);
    doc = (await res.json()) as OpenApiDoc;
    schemas = new DocumentSchemas(doc);
  });

  const described = () => new Set(operations(doc).map((o) => `${o.method} ${o.path}`));
  const routes = () => s.t.gw.routes;

  it('describes every route of the HTTP app except the browser pages', () => {
    const missing = routes()
      .filter((r) => !isBrowserPage(r.path) && !described().has(`${r.method} ${r.path}`))
      .map((r) => `${r.method} ${r.path}: ${whereToDescribe(r.path)}`);
    assert.deepEqual(missing, [], `routes the OpenAPI document does not describe:\n  ${missing.join('\n  ')}`);
  });

  it('describes no operation the app does not answer, and none under a browser-page path', () => {
    const answered = new Set(routes().map((r) => `${r.method} ${r.path}`));
    const extra = [...described()].filter((o) => !answered.has(o) || isBrowserPage(o.split(' ')[1] as string));
    assert.deepEqual(extra, [], `described but not routed (or a browser page): ${extra.join(', ')}`);
  });

  it('leaves out only pages for browsers: each excluded GET answers HTML, a redirect or a static asset, never JSON', async () => {
    const excluded = routes().filter((r) => isBrowserPage(r.path));
    assert.ok(
      excluded.some((r) => r.path === '/portal/sign-in'),
      'the portal pages are excluded',
    );
    assert.ok(!isBrowserPage('/portal/api/me') && described().has('GET /portal/api/me'), "the portal's JSON calls are described");
    for (const r of excluded.filter((x) => x.method === 'GET' && !x.path.includes('{'))) {
      const res = await fetch(`${s.url}${r.path}`, { redirect: 'manual' });
      const type = res.headers.get('content-type') ?? '';
      await res.arrayBuffer();
      // A script or style sheet is a static asset by its name, built or not (npm run build makes the portal's).
      const asset = /\.(js|css)$/.test(r.path);
      const browserAnswer = asset || (res.status >= 300 && res.status < 400) || /^(text\/html|text\/css|text\/javascript)/.test(type);
      assert.ok(browserAnswer, `${r.path} answered ${res.status} ${type}: a JSON route must be described, not excluded`);
    }
  });

  it('serves the reference page with its renderer from this origin: no CDN', async () => {
    const page = await fetch(`${s.url}/docs/api`);
    const html = await page.text();
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string);
    const assets = refs.filter((a) => !a.startsWith('data:'));
    assert.ok(assets.length >= 3 && assets.every((a) => a.startsWith('/docs/api/assets/')), refs.join(', '));
    for (const a of assets) {
      const res = await fetch(`${s.url}${a}`);
      assert.equal(res.status, 200, a);
      assert.ok((await res.arrayBuffer()).byteLength > 0, a);
    }
    assert.match(await (await fetch(`${s.url}/docs/api/assets/init.js`)).text(), /url: '\/openapi\.json'/);
  });

  it('holds shared schemas that are JSON Schema 2020-12 with every $ref resolving', () => {
    const names = Object.keys(doc.components.schemas);
    assert.ok(names.includes('ErrorAnswer') && names.includes('PurchaseOrder'), names.join(', '));
    for (const name of names) assert.doesNotThrow(() => schemas.validator(['components', 'schemas', name]), name);
  });

  it('refers to the canonical schemas rather than copying them, and shares the error answer', () => {
    const text = JSON.stringify(doc);
    assert.equal(text.split('"https://partner-gateway.dev/canonical/purchase-order/v1"').length - 1, 1, 'the purchase order schema appears once');
    const po = doc.paths['/v1/erp/partners/{partner}/purchase-orders']?.post?.requestBody?.content['application/json'] as { schema: unknown };
    assert.deepEqual(po.schema, { $ref: '#/components/schemas/PurchaseOrder' });
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), [
      'adminApiKey',
      'clientSecretBasic',
      'erpApiKey',
      'partnerApiKey',
      'partnerMtls',
      'partnerOAuth',
      'portalSession',
      'webhookSignature',
    ]);
  });

  describe('against the running gateway', () => {
    /** Values the document cannot hold: ids made while the test runs. */
    const made = {
      messageId: '',
      outboundId: '',
      credentialRef: '',
      webhookSecret: '',
      clientSecret: '',
      portalCookie: '',
      exceptionId: '',
      heldDocumentId: '',
    };

    /** Northwind's sample ship notice names a PO it was never sent: an unknown-po exception, its document held. */
    async function holdAShipNotice() {
      const asn = await readFile(path.join(REPO, 'mappings/northwind/samples/asn.json'));
      const sent = await post(s.url, NORTHWIND_KEY, 'application/json', asn);
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      const raised = await waitFor(
        'the exception raised and its document held',
        () => adminCall(s.url, 'GET', '/ops/v1/exceptions?partner=northwind&rule=unknown-po'),
        (r) => r.body.items?.some((e: { messageId: string; hold: string }) => e.messageId === sent.body.messageId && e.hold === 'held'),
      );
      const exception = raised.body.items.find((e: { messageId: string }) => e.messageId === sent.body.messageId);
      made.exceptionId = exception.id;
      made.heldDocumentId = exception.documentId;
    }

    before(async () => {
      await editPartner(s.t.gw, s.t.partnersDir, 'northwind', (y) => y.replace(/^channels: \[rest\]$/m, 'channels: [rest, webhook]'));
      const issue = async (body: object) => {
        const r = await adminCall(s.url, 'POST', '/admin/v1/credentials', body);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body;
      };
      made.webhookSecret = (await issue({ kind: 'webhook-secret', partner: 'northwind' })).secret;
      made.clientSecret = (await issue({ kind: 'client-secret', partner: 'northwind' })).secret;
      made.credentialRef = (await issue({ kind: 'api-key', partner: 'globex-office' })).credential.ref;
      const order = await sendOrder(s.url, ERP_ORDER, {}, ERP.key, 'northwind');
      assert.equal(order.status, 201, JSON.stringify(order.body));
      made.messageId = order.body.messageId;
      const mailbox = await waitFor(
        'the order in the mailbox',
        async () =>
          (await (await fetch(`${s.url}/v1/outbound`, { headers: { authorization: `Bearer ${NORTHWIND_KEY}` } })).json()) as { items: { id: string }[] },
        (b) => b.items.length > 0,
      );
      made.outboundId = (mailbox.items[0] as { id: string }).id;
      await holdAShipNotice();
      await addUser(s.db.knex, { username: 'rita', displayName: 'Rita', role: 'admin', partnerId: null }, PASSWORD, new Date());
      const rita = new PortalClient(() => s.url);
      await rita.signIn('rita', PASSWORD);
      made.portalCookie = [...rita.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    });

    function paramValue(path: string, p: Parameter): string {
      if (p.example !== undefined) return String(p.example);
      if (path.startsWith('/v1/outbound/')) return made.outboundId;
      if (p.name === 'ref') return made.credentialRef;
      if (path.startsWith('/ops/v1/exceptions/')) return made.exceptionId;
      if (path.startsWith('/ops/v1/documents/')) return made.heldDocumentId;
      if (p.schema?.format === 'uuid') return made.messageId;
      throw new Error(`${path}: give the parameter ${p.name} an example in the document, or a value made in this test`);
    }

    /**
     * The request an operation's description makes: its example body, its parameters' examples and
     * (unless `anonymous`) the credential its security names.
     */
    function requestOf(method: string, path: string, op: Operation, anonymous = false): { url: string; init: RequestInit; hasExample: boolean } {
      const url = path.replace(/\{(\w+)\}/g, (_, name) => {
        const p = op.parameters?.find((x) => x.in === 'path' && x.name === name);
        assert.ok(p, `${method} ${path}: path parameter ${name} is not declared`);
        return encodeURIComponent(paramValue(path, p));
      });
      const [mediaType, media] = Object.entries(op.requestBody?.content ?? {}).find(([, m]) => m.example !== undefined) ?? [];
      const body =
        media === undefined
          ? undefined
          : mediaType === 'application/x-www-form-urlencoded'
            ? new URLSearchParams(media.example as Record<string, string>).toString()
            : JSON.stringify(media.example);
      const credential = anonymous ? {} : credentialFor(op, body ?? '');
      const headers: Record<string, string> = { ...(mediaType ? { 'content-type': mediaType } : {}), ...credential };
      return { url: `${s.url}${url}`, init: { method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual' }, hasExample: media !== undefined };
    }

    /** What is wrong with an answer: a status the operation does not list, or a JSON body its schema refuses. */
    async function answerProblems(label: string, path: string, method: string, res: globalThis.Response): Promise<string[]> {
      const type = (res.headers.get('content-type') ?? '').split(';')[0] as string;
      const text = await res.text();
      const documented = schemas.response(path, method, res.status);
      if (!documented) return [`${label}: answered ${res.status}, a status the document does not list (${text.slice(0, 200)})`];
      if (type !== 'application/json') return [];
      if (!documented.response.content?.['application/json']) return [`${label}: answered JSON with ${res.status}, which the document gives no JSON schema`];
      const problems = schemas.problems([...documented.at, 'content', 'application/json', 'schema'], JSON.parse(text));
      return problems.length ? [`${label}: the ${res.status} answer does not match its schema: ${problems.join('; ')} in ${text.slice(0, 300)}`] : [];
    }

    function credentialFor(op: Operation, body: string): Record<string, string> {
      const schemes = (op.security ?? []).flatMap((r) => Object.keys(r));
      const scheme = schemes[0];
      if (scheme === undefined) return {};
      const bearer = (key: string) => ({ authorization: `Bearer ${key}` });
      const basic = `Basic ${Buffer.from(`northwind:${made.clientSecret}`).toString('base64')}`;
      const by: Record<string, () => Record<string, string>> = {
        partnerApiKey: () => bearer(NORTHWIND_KEY),
        erpApiKey: () => bearer(ERP.key),
        adminApiKey: () => bearer(ADMIN.key),
        portalSession: () => ({ cookie: made.portalCookie }),
        webhookSignature: () => ({ 'x-gateway-signature': signatureHeader([made.webhookSecret], body) }),
        clientSecretBasic: () => ({ authorization: basic }),
      };
      assert.ok(by[scheme], `no test credential for the security scheme ${scheme}`);
      return (by[scheme] as () => Record<string, string>)();
    }

    /** Examples first (they make what later calls read), reads next, then the calls that change or remove things. */
    const order = (o: { method: string; op: Operation }) => (o.op.requestBody ? 0 : o.method === 'GET' ? 1 : 2);

    /** The operations the test calls: all but AS2, whose suites speak it. */
    const callable = () => operations(doc).filter((o) => o.path !== '/as2');

    it('accepts each request example, and each answer is documented and matches its schema', async () => {
      const failures: string[] = [];
      for (const { method, path, op } of callable().sort((a, b) => order(a) - order(b))) {
        const label = `${method} ${path}`;
        for (const [mediaType, media] of Object.entries(op.requestBody?.content ?? {}))
          if (media.example !== undefined) {
            const problems = schemas.problems(['paths', path, method.toLowerCase(), 'requestBody', 'content', mediaType, 'schema'], media.example);
            if (problems.length) failures.push(`${label}: its ${mediaType} example does not match its schema: ${problems.join('; ')}`);
          }
        const { url, init, hasExample } = requestOf(method, path, op);
        const res = await fetch(url, init);
        if (hasExample && (res.status < 200 || res.status > 299)) failures.push(`${label}: its example was refused: ${res.status} ${await res.text()}`);
        else failures.push(...(await answerProblems(label, path, method, res)));
      }
      assert.deepEqual(failures, []);
    });

    it('refuses each protected operation without credentials, with a documented answer', async () => {
      const failures: string[] = [];
      for (const { method, path, op } of callable().filter((o) => (o.op.security ?? []).length > 0)) {
        const label = `${method} ${path} (no credentials)`;
        const { url, init } = requestOf(method, path, op, true);
        const res = await fetch(url, init);
        if (res.status !== 401 && res.status !== 403) failures.push(`${label}: answered ${res.status}`);
        failures.push(...(await answerProblems(label, path, method, res)));
      }
      assert.deepEqual(failures, []);
    });
  });
});
