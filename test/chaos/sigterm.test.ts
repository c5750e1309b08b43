import assert from 'node:assert/strict';
import { chaosSuite } from '../helpers/chaos.js';
import { sleep, until } from '../helpers/chaos-gateway.js';
import { assertNothingLostOrDoubled, itemNames, restLoad, settle, sftpLoad, Tally } from '../helpers/chaos-load.js';

/** How long a stopping gateway may take: what it has in hand is a few ERP round trips. */
const STOP_BOUND_MS = 30_000;

describe('chaos: SIGTERM while work is in flight', () => {
  const s = chaosSuite();

  /** Load, SIGTERM once deliveries are under way, restart, count; `graceful` adds the checks of a clean stop. */
  async function sigtermScenario(name: string, prefix: string, firstControl: number, graceful: boolean) {
    const gw = s.gateway(name);
    await gw.start();
    // A slowish ERP keeps deliveries in flight at the moment of the signal. For the clean-stop checks
    // it keeps only what is answered, so a delivery counts once the stopping gateway has seen it through.
    s.erp.answer = () => ({ kind: 'ok', delayMs: 300, effectAtReply: graceful });
    const tally = new Tally();
    const target = () => gw;
    const load = Promise.all([
      restLoad({ tally, items: itemNames(`${prefix}R`, 300), target, concurrency: 8 }),
      sftpLoad({ tally, items: itemNames(`${prefix}S`, 30), target, concurrency: 2, site: s.site, firstControl }),
    ]);
    await until('a third of the load accepted and deliveries in flight', () => tally.accepted.size >= 100 && s.erp.inFlight > 0, 120_000, 5);
    const before = s.erp.processed.length;
    gw.signal('SIGTERM');
    const exit = await gw.exit(STOP_BOUND_MS + 5000);
    console.log(`      SIGTERM to exit: ${exit.ms} ms, code ${exit.code}, signal ${exit.signal}`);
    if (graceful) {
      assert.deepEqual([exit.code, exit.signal], [0, null], `exit status (log: ${gw.logFile})`);
      assert.ok(exit.ms < STOP_BOUND_MS, `exited ${exit.ms} ms after SIGTERM`);
      assert.ok(s.erp.processed.length > before, 'deliveries in flight were finished before the exit');
      // Finished or released: no delivery is left claimed by the stopped process.
      const held = await s.db.knex('deliveries').count<{ count: string }[]>('* as count').where('state', 'delivering');
      assert.equal(Number(held[0]?.count), 0, 'deliveries left claimed (they would wait for the lease)');
    }
    await sleep(300);
    await gw.start();
    s.erp.answer = () => ({ kind: 'ok' });
    await load;
    const c = await settle(name, tally, s.erp);
    assertNothingLostOrDoubled(c, tally);
  }

  it('after SIGTERM mid-load and a restart, nothing accepted is lost or doubled', async () => {
    await sigtermScenario('sigterm-in-flight', 'T6R', 760_000_000, false);
  });

  it('SIGTERM: stops accepting, finishes or releases what it holds, exits 0 within the bound', async () => {
    await sigtermScenario('sigterm-graceful', 'T6G', 765_000_000, true);
  });
});
