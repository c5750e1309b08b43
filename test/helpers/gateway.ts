import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { Knex } from 'knex';
import { readSettings } from '../../src/config/env.js';
import { generateApiKey } from '../../src/security/api-keys.js';
import { createLogger } from '../../src/observability/logger.js';
import { startGateway, type Gateway } from '../../src/server.js';
import { copyConfig } from './config.js';
import { REPO } from './corpus.js';
import { freshDatabase, type TestDatabase } from './db.js';
import { ErpReceiver } from './erp.js';

export const ACME_KEY = 'gw_acmedemo_Dm0AcmeSupplyOnlyForTheLocalDemo000000000';
export const NORTHWIND_KEY = 'gw_nwdemo_Dm0NorthwindOnlyForTheLocalDemo0000000000';
export const GLOBEX_KEY = 'gw_globexdemo_Dm0GlobexOfficeOnlyForTheLocalDemo00000000';
export const HANSEN_KEY = 'gw_hansendemo_Dm0HansenTextilOnlyForTheLocalDemo000000000';
/** A correct ACME key that expired in 2020. */
export const EXPIRED = generateApiKey('acmeexpired');
/** The ERP's key for /v1/erp (ERP_API_KEYS of every test gateway). */
export const ERP = generateApiKey('erptest');
/** The operator's metrics token (METRICS_TOKEN of every test gateway): GET /metrics with it as a bearer token. */
export const METRICS_TOKEN = 'metrics-test-token-0123456789';
/** A correct key of a suspended partner. */
export const SUSPENDED = generateApiKey('suspended');

/**
 * Test partner profiles: the two demo partners' identities and mappings, routed to the test's
 * ERP receiver (HTTP) and to a file drop in the test's folder.
 */
export function testPartners(erpUrl: string, ackWithinMinutes = 1440): Record<string, string> {
  const routes = `routes:
  - types: [asn, invoice]
    maxAttempts: 4
    target: { id: erp-http, kind: http, url: "${erpUrl}", timeoutMs: 2000 }
  - types: [asn]
    target: { id: erp-drop, kind: file, dir: "\${GATEWAY_DATA_DIR}/erp-drop" }
limits: { maxBytes: 65536 }
`;
  return {
    'acme-supply.yaml': `id: acme-supply
name: ACME (test)
state: live
channels: [rest]
# GS1's own example company prefix: the portal's ship-notice form numbers packs from it.
gs1: { companyPrefix: "0614141" }
identifiers:
  x12:
    - { qualifier: "12", id: "4405197800" }
    - { qualifier: "11", id: "RA0219798" }
    - { qualifier: "ZZ", id: "SENDERISA" }
  edifact:
    - { id: "5412345000013", qualifier: "14" }
credentials:
  apiKeys:
    - { id: acmedemo, sha256: ad88b7d2da85c1181c52954d8575824cc8005d2779c00405e6e90fbd743ea098 }
    - { id: acmeexpired, sha256: ${EXPIRED.sha256}, expires: "2020-01-01" }
inbound:
  - { type: asn, mapping: acme-supply/856-004010 }
  - { type: invoice, mapping: acme-supply/810-004010 }
  - { type: po-ack, mapping: acme-supply/855-004010 }
  - { type: inventory, mapping: acme-supply/846-004010 }
outbound:
  - { type: purchase-order, format: x12, mapping: x12-standard/purchase-order-850 }
x12:
  ourId: { qualifier: ZZ, id: DISTRIBUTOR }
  partnerId: { qualifier: "12", id: "4405197800" }
  outbound: { ackWithinMinutes: ${ackWithinMinutes} }
  guides:
    - transaction: "856"
      segments:
        BSN: { required: true, elements: { "02": { required: true, max: 30 } } }
        PRF: { elements: { "01": { max: 22 } } }
edifact:
  ourId: { id: "8798765000005", qualifier: "14" }
  contrl: always
${routes}`,
    'suspended-co.yaml': `id: suspended-co
name: Suspended (test)
state: suspended
channels: [rest]
credentials:
  apiKeys:
    - { id: suspended, sha256: ${SUSPENDED.sha256} }
inbound: []
`,
    'northwind.yaml': `id: northwind
name: Northwind (test)
state: live
channels: [rest]
credentials:
  apiKeys:
    - { id: nwdemo, sha256: 3d219b647ebf8761ca0bd41aabf8ff45ef1cda4912e775fedabda1ad5053c9f6 }
inbound:
  - { type: asn, mapping: northwind/asn-json }
  - { type: invoice, mapping: northwind/invoice-json }
outbound:
  - { type: purchase-order, format: json, mapping: northwind/purchase-order-json }
${routes}`,
    'globex-office.yaml': `id: globex-office
name: Globex (test)
state: live
channels: [rest]
credentials:
  apiKeys:
    - { id: globexdemo, sha256: 6ea19cb4e05bf7f448d35896679e70640173dcf0fe21c2f1204d6ce4e74df5a2 }
inbound:
  - { type: asn, mapping: globex-office/ship-notice-cxml }
  - { type: invoice, mapping: globex-office/invoice-cxml }
  - { type: po-ack, mapping: globex-office/confirmation-cxml }
outbound:
  - { type: purchase-order, format: xml, mapping: globex-office/order-request-cxml }
routes:
  - types: [asn, invoice, po-ack]
    target: { id: erp-http, kind: http, url: "${erpUrl}", timeoutMs: 2000 }
`,
    'hansen-textil.yaml': `id: hansen-textil
name: Hansen (test)
state: live
channels: [rest]
credentials:
  apiKeys:
    - { id: hansendemo, sha256: ${createHash('sha256').update(HANSEN_KEY).digest('hex')} }
inbound:
  - { type: price-list, mapping: hansen-textil/price-list-csv }
  - { type: inventory, mapping: hansen-textil/stock-csv }
routes:
  - types: [price-list, inventory]
    target: { id: erp-http, kind: http, url: "${erpUrl}", timeoutMs: 2000 }
`,
  };
}

export interface TestGateway {
  gw: Gateway;
  dataDir: string;
  partnersDir: string;
  /** The gateway's log lines, parsed, when started with `captureLogs` (what an operator would read). */
  logs: Record<string, any>[];
  /** Stops the gateway as an operator would (SIGTERM's graceful stop) and starts a new one on the same data, partners and database. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** Options of a test gateway beyond its environment. */
export interface TestGatewayOptions {
  /** Keep the log lines at `warn` (or `captureLevel`) and above in `logs` instead of discarding them. */
  captureLogs?: boolean;
  captureLevel?: 'info' | 'warn';
  /** The portal's clock (sessions, lockouts), for a suite that moves time forward instead of waiting. */
  now?: () => Date;
  /** Edits each test partner profile (YAML text) before the gateway starts. */
  editPartners?: (yaml: string) => string;
}

/** The test partners in `<dataDir>/partners`, each profile passed through `edit`; returns that folder. */
export async function writeTestPartners(
  dataDir: string,
  erpUrl: string,
  edit: (yaml: string) => string = (y) => y,
  ackWithinMinutes?: number,
): Promise<string> {
  const partnersDir = path.join(dataDir, 'partners');
  await mkdir(partnersDir, { recursive: true });
  for (const [name, text] of Object.entries(testPartners(erpUrl, ackWithinMinutes))) await writeFile(path.join(partnersDir, name), edit(text));
  return partnersDir;
}

/**
 * The settings every test gateway shares, in process or as a child process: loopback on an
 * ephemeral port, the test partners, the shipped mappings, quick polls and retries, the test ERP key.
 */
export function testGatewayEnv(dataDir: string, partnersDir: string): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    GATEWAY_DATA_DIR: dataDir,
    PARTNERS_DIR: partnersDir,
    MAPPINGS_DIR: path.join(REPO, 'mappings'),
    POLL_MS: '50',
    DELIVERY_BACKOFF_MS: '40',
    DELIVERY_BACKOFF_MAX_MS: '300',
    ERP_API_KEYS: `erptest:${ERP.sha256}`,
    METRICS_TOKEN,
  };
}

export async function startTestGateway(knex: Knex, erpUrl: string, extraEnv: Record<string, string> = {}, opts: TestGatewayOptions = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'gw-test-data-'));
  const partnersDir = await writeTestPartners(dataDir, erpUrl, opts.editPartners, Number(extraEnv.ACK_WITHIN_MINUTES ?? 1440));
  const settings = readSettings({
    ...testGatewayEnv(dataDir, partnersDir),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // The SFTP door only where a suite asks for it (SFTP: 'on', on an ephemeral port).
    SFTP: 'off',
    SFTP_PORT: '0',
    HTTPS_PORT: '0',
    ...extraEnv,
  });
  const logs: Record<string, any>[] = [];
  const log = opts.captureLogs
    ? createLogger(opts.captureLevel ?? 'warn', new Writable({ write: (chunk, _enc, done) => (logs.push(JSON.parse(String(chunk))), done()) }))
    : createLogger(settings.logLevel);
  const t: TestGateway = {
    gw: await startGateway({ settings, knex, log, env: extraEnv, ...(opts.now ? { now: opts.now } : {}) }),
    dataDir,
    partnersDir,
    logs,
    restart: async () => {
      await t.gw.stop();
      t.gw = await startGateway({ settings, knex, log, env: extraEnv, ...(opts.now ? { now: opts.now } : {}) });
    },
    close: async () => {
      await t.gw.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** A message state after which nothing more happens without a replay. */
export const terminal = (s: { body: Record<string, any> }): boolean => ['delivered', 'rejected', 'failed', 'dead'].includes(s.body.state);

/**
 * A private copy of mappings/ for a suite that edits profiles as a partner manager would (the
 * gateway watches it); removed after the suite. Call at describe time, before `gatewaySuite`.
 */
export function mappingsCopy(): string {
  const copy = copyConfig([]);
  after(() => copy.remove());
  return copy.mappingsDir;
}

/** Polls the status URL until `done` holds (or fails the test after `ms`). */
export async function waitFor<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  let last: T;
  do {
    last = await probe();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 30));
  } while (Date.now() < until);
  throw new Error(`timed out waiting for ${what}; last value: ${String(JSON.stringify(last)).slice(0, 2000)}`);
}

export async function post(url: string, key: string | undefined, contentType: string, body: string | Buffer, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/messages`, {
    method: 'POST',
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), 'content-type': contentType, ...headers },
    body,
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

export async function status(url: string, key: string, id: string) {
  const res = await fetch(`${url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** What a suite using `gatewaySuite` works with; valid inside its tests. */
export interface GatewaySuite {
  db: TestDatabase;
  erp: ErpReceiver;
  t: TestGateway;
  url: string;
  /** Restarts the suite's gateway (its URL changes: a new ephemeral port). */
  restart(): Promise<void>;
}

/**
 * Registers hooks that give the suite a fresh database, an ERP receiver and a gateway on a loopback
 * port (per suite, or per test with `perTest`), stopped and dropped afterwards.
 */
export function gatewaySuite(
  opts: { env?: Record<string, string> | ((erpUrl: string) => Record<string, string>); perTest?: boolean } & TestGatewayOptions = {},
): GatewaySuite {
  const s = {
    restart: async () => {
      await s.t.restart();
      s.url = s.t.gw.url;
    },
  } as GatewaySuite;
  const [setUp, tearDown] = opts.perTest ? [beforeEach, afterEach] : [before, after];
  setUp(async () => {
    s.db = await freshDatabase();
    s.erp = new ErpReceiver();
    await s.erp.start();
    s.t = await startTestGateway(s.db.knex, s.erp.url, typeof opts.env === 'function' ? opts.env(s.erp.url) : opts.env, opts);
    s.url = s.t.gw.url;
  });
  tearDown(async () => {
    await s.t?.close();
    await s.erp?.stop();
    await s.db?.drop();
  });
  return s;
}
