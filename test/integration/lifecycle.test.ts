import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_USERS } from '../../src/security/demo-users.js';
import { MAPPINGS } from '../helpers/corpus.js';
import { freshDatabase, type TestDatabase } from '../helpers/db.js';
import { ErpReceiver } from '../helpers/erp.js';
import { PortalClient } from '../helpers/portal-client.js';
import { NORTHWIND_KEY, post, status } from '../helpers/gateway.js';
import { alive, descendants, gatewayEnv, spawnGateway, until, writeTestPartners, type GatewayProcess } from '../helpers/gateway-process.js';

const ASN = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');
/** A Northwind ship notice with its own shipment number (so no two are duplicates). */
const asn = (n: string) => ASN.replace('NW-SH-10045', `NW-SH-${n}`);

/** The gateway process of one test, its folder and its ERP; everything is stopped after the test. */
interface Run {
  dir: string;
  erp: ErpReceiver;
  gp?: GatewayProcess;
  db?: TestDatabase;
}

async function prepare(run: Partial<Run>, erpUrl?: string, edit?: (yaml: string) => string): Promise<{ dir: string; partnersDir: string }> {
  run.dir = await mkdtemp(path.join(tmpdir(), 'gw-lifecycle-'));
  run.erp = new ErpReceiver();
  await run.erp.start();
  return { dir: run.dir, partnersDir: await writeTestPartners(run.dir, erpUrl ?? run.erp.url, edit) };
}

async function cleanup(run: Partial<Run>): Promise<void> {
  const child = run.gp?.child;
  if (child?.pid && alive(child.pid)) {
    const tree = descendants(child.pid);
    child.kill('SIGKILL');
    for (const p of tree) if (alive(p)) process.kill(p, 'SIGKILL');
  }
  await run.erp?.stop();
  await run.db?.drop();
  if (run.dir) await rm(run.dir, { recursive: true, force: true });
}

/** The embedded postmaster's pid, from postmaster.pid in the gateway's data folder. */
async function postmasterPid(dataDir: string): Promise<number> {
  return Number((await readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

describe('the gateway process: reload, stop and its embedded PostgreSQL', function () {
  this.timeout(240_000);
  let run: Partial<Run> = {};
  afterEach(async () => {
    await cleanup(run);
    run = {};
  });

  for (const kind of ['embedded PostgreSQL', 'DATABASE_URL'] as const) {
    it(`reloads on SIGHUP and keeps serving (${kind})`, async () => {
      const { dir, partnersDir } = await prepare(run);
      const extra: Record<string, string> = {};
      if (kind === 'DATABASE_URL') extra.DATABASE_URL = (run.db = await freshDatabase()).url;
      const gp = (run.gp = spawnGateway(gatewayEnv(dir, partnersDir, extra)));
      const url = await gp.url();
      await gp.waitForLog('gateway started');
      const pid = gp.child.pid as number;
      const before = gp.logs.length;
      process.kill(pid, 'SIGHUP');
      await gp.waitForLog('configuration reloaded', 60_000, before);
      assert.ok(alive(pid), 'the gateway is still running');
      assert.equal((await fetch(`${url}/readyz`)).status, 200, 'and its database answers');
      const res = await post(url, NORTHWIND_KEY, 'application/json', asn(`HUP-${kind.length}`));
      assert.equal(res.status, 202);
      if (run.db) {
        const rows = await run.db.knex('audit_log').where({ action: 'config.reload', outcome: 'ok' });
        assert.equal(rows.length, 1, 'one audit row for the reload');
      }
      process.kill(pid, 'SIGTERM');
      assert.deepEqual(await gp.exited, { code: 0, signal: null });
    });
  }

  it('npm start: the portal with its demo users; SIGTERM to its PID stops node and PostgreSQL, exit 0', async function () {
    // `npm start` builds dist/ first when the sources changed since the last build: on a busy machine a minute or more.
    this.timeout(480_000);
    const { dir, partnersDir } = await prepare(run);
    const gp = (run.gp = spawnGateway(gatewayEnv(dir, partnersDir), 'npm'));
    const url = await gp.url();
    await gp.waitForLog('gateway started');
    const npmPid = gp.child.pid as number;
    const tree = descendants(npmPid);
    const pg = await postmasterPid(dir);
    assert.ok(tree.includes(pg), `the postmaster ${pg} runs below npm (${tree.join(', ')})`);
    assert.equal((await fetch(`${url}/healthz`)).status, 200);
    // The README's demo operator signs in with the README's password, and is in the audit of who was added.
    const person = new PortalClient(() => url);
    const operator = DEMO_USERS.find((u) => u.role === 'operations') as (typeof DEMO_USERS)[number];
    assert.deepEqual([(await person.attemptSignIn(operator.username, operator.password)).location], ['/portal/']);
    assert.match((await person.request('/portal/')).text, /Role<\/dt><dd>operations</);
    assert.deepEqual(gp.logs.find((l) => /demo portal users are enabled/.test(l.msg))?.added, ['sue', 'nils', 'olga', 'pia', 'sid', 'ada']);

    process.kill(npmPid, 'SIGTERM');
    const exit = await gp.exited;
    await until('every process below npm to end', () => tree.every((p) => !alive(p)), 60_000);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(
      gp.logs.some((l) => l.msg === 'stopped'),
      'the gateway stopped through its graceful path',
    );
  });

  it('restarts the embedded PostgreSQL after kill -9 of its postmaster, and loses no accepted message', async () => {
    const { dir, partnersDir } = await prepare(run);
    const gp = (run.gp = spawnGateway(gatewayEnv(dir, partnersDir)));
    const url = await gp.url();
    await gp.waitForLog('gateway started');
    const accepted: string[] = [];
    let refused = 0;
    let sending = true;
    // Two clients post while the database is killed; a 202 must survive, a 503 is a fair "try again".
    const client = async (c: number) => {
      for (let i = 0; sending; i++) {
        const res = await post(url, NORTHWIND_KEY, 'application/json', asn(`K${c}-${i}`)).catch(() => undefined);
        if (res?.status === 202) accepted.push(String(res.body.messageId));
        else refused++;
      }
    };
    const clients = [client(1), client(2)];
    await until('some accepted messages', () => accepted.length >= 20);
    const old = await postmasterPid(dir);
    const mark = gp.logs.length;
    process.kill(old, 'SIGKILL');
    await gp.waitForLog('embedded PostgreSQL restarted', 90_000, mark);
    await until('more accepted messages after the restart', () => accepted.length >= 60, 90_000);
    sending = false;
    await Promise.all(clients);
    assert.notEqual(await postmasterPid(dir), old);
    assert.ok(alive(gp.child.pid as number));

    for (const id of accepted) {
      let last: unknown;
      await until(
        `message ${id} delivered (last: ${JSON.stringify(last)})`,
        async () => ((last = (await status(url, NORTHWIND_KEY, id)).body) as { state: string }).state === 'delivered',
        120_000,
      ).catch((err: Error) => {
        throw new Error(`${err.message}; its status: ${JSON.stringify(last).slice(0, 3000)}`);
      });
    }
    // A delivery sent again after the restart carries the key it had: a repeat, not a duplicate in effect.
    const keys = run.erp!.keyCounts();
    const repeats = [...keys.values()].reduce((n, c) => n + c - 1, 0);
    assert.equal(keys.size, accepted.length, 'one idempotency key per accepted ship notice');
    console.log(
      `      kill -9 postmaster: sent ${accepted.length + refused}, accepted ${accepted.length}, refused ${refused}, delivered ${keys.size}, ` +
        `repeated under the same key ${repeats}, duplicates in effect 0, lost 0`,
    );
  });

  it('stops with the embedded PostgreSQL (exit 1, GW_STORE_EMBEDDED) when the postmaster is told to stop from outside', async () => {
    const { dir, partnersDir } = await prepare(run);
    const gp = (run.gp = spawnGateway(gatewayEnv(dir, partnersDir)));
    await gp.waitForLog('gateway started');
    const pg = await postmasterPid(dir);
    const started = Date.now();
    process.kill(pg, 'SIGTERM');
    const exit = await gp.exited;
    await until('the postmaster to end', () => !alive(pg), 60_000);
    assert.deepEqual(exit, { code: 1, signal: null });
    assert.ok(
      gp.logs.some((l) => l.code === 'GW_STORE_EMBEDDED' && l.level === 60),
      'a fatal line with the code',
    );
    console.log(`      postmaster SIGTERM to gateway exit: ${Date.now() - started} ms`);
  });

  describe('SIGTERM while deliveries are in flight', () => {
    /** An ERP that holds every request for `holdMs` before answering 202. */
    async function slowErp(holdMs: number): Promise<{ server: Server; url: string; received: () => number }> {
      let received = 0;
      const server = createServer((req, res) => {
        received++;
        req.resume();
        const t = setTimeout(() => res.writeHead(202).end('{}'), holdMs);
        res.on('close', () => clearTimeout(t));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/erp`, received: () => received };
    }

    for (const [title, holdMs, stopSeconds, expected] of [
      ['finishes the sends in progress, exit 0', 3000, '60', 'delivered'],
      ['releases the sends that outlast STOP_TIMEOUT_SECONDS, exit 0', 120_000, '1', 'pending'],
    ] as const) {
      it(title, async () => {
        const erp = await slowErp(holdMs);
        try {
          // The route waits a minute for the ERP: the stop, not the target's timeout, decides.
          const { dir, partnersDir } = await prepare(run, erp.url, (y) => y.replaceAll('timeoutMs: 2000', 'timeoutMs: 60000'));
          run.db = await freshDatabase();
          const gp = (run.gp = spawnGateway(gatewayEnv(dir, partnersDir, { DATABASE_URL: run.db.url, STOP_TIMEOUT_SECONDS: stopSeconds })));
          const url = await gp.url();
          for (let i = 0; i < 5; i++) assert.equal((await post(url, NORTHWIND_KEY, 'application/json', asn(`TERM-${i}`))).status, 202);
          await until('the ERP to receive a delivery', () => erp.received() > 0);
          const started = Date.now();
          process.kill(gp.child.pid as number, 'SIGTERM');
          assert.deepEqual(await gp.exited, { code: 0, signal: null });
          const took = Date.now() - started;
          const http = await run.db.knex('deliveries').whereRaw("target->>'kind' = 'http'").select('state', 'locked_by');
          assert.ok(http.length >= 1);
          assert.deepEqual(
            http.filter((d) => d.state === 'delivering'),
            [],
            'nothing stays leased',
          );
          assert.ok(
            http.some((d) => d.state === expected),
            `some delivery is ${expected}: ${JSON.stringify(http)}`,
          );
          console.log(`      SIGTERM with ${erp.received()} send(s) in flight: exit 0 after ${took} ms; ${http.map((d) => d.state).join(', ')}`);
        } finally {
          erp.server.closeAllConnections();
          erp.server.close();
        }
      });
    }
  });
});
