import { freshDatabase, type TestDatabase } from './db.js';
import { ChaosErp } from './chaos-erp.js';
import { ChaosSite, GatewayProcess } from './chaos-gateway.js';

export interface ChaosSuite {
  db: TestDatabase;
  erp: ChaosErp;
  site: ChaosSite;
  /** A gateway process of this scenario (not started); stopped after the scenario whatever happens. */
  gateway(name: string, env?: Record<string, string>): GatewayProcess;
}

/**
 * Hooks for one chaos scenario: a fresh database, the ERP, the shared site folder; every gateway
 * process made with `gateway()` is stopped after its scenario, and its log tail printed if it failed.
 * `databaseUrl` replaces the fresh database's URL (a scenario with a PostgreSQL of its own).
 */
export function chaosSuite(opts: { databaseUrl?: () => string } = {}): ChaosSuite {
  const s = {} as ChaosSuite;
  const processes: GatewayProcess[] = [];
  before(async () => {
    s.db = await freshDatabase();
    s.erp = new ChaosErp();
    await s.erp.start();
    s.site = new ChaosSite(opts.databaseUrl?.() ?? s.db.url, s.erp.url);
    await s.site.prepare();
    s.gateway = (name, env) => {
      const p = new GatewayProcess(s.site, name, env);
      processes.push(p);
      return p;
    };
  });
  // A scenario's gateways stop with it: one left running would claim the next scenario's work.
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const p of processes) console.log(`--- ${p.name} (last lines of ${p.logFile}) ---\n${p.logTail()}`);
    for (const p of processes.splice(0)) await p.stop();
  });
  after(async () => {
    await s.erp?.stop();
    await s.db?.drop();
    if (!process.env.CHAOS_KEEP) await s.site?.remove();
  });
  return s;
}
