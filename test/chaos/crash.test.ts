import assert from 'node:assert/strict';
import { chaosSuite } from '../helpers/chaos.js';
import { sleep, until } from '../helpers/chaos-gateway.js';
import { assertNothingLostOrDoubled, itemNames, restLoad, settle, sftpLoad, Tally } from '../helpers/chaos-load.js';

/** Deadline for a killed process's deliveries to be sent by another: well under the suite's budget. */
const SETTLE_MS = 150_000;

describe('chaos: kill -9 of a gateway process under load', () => {
  const s = chaosSuite();
  // The ERP takes a moment per document and keeps nothing whose sender vanished before the answer:
  // the kill always lands with deliveries claimed and unfinished, which another worker must send.
  beforeEach(() => (s.erp.answer = () => ({ kind: 'ok', delayMs: 300, effectAtReply: true })));

  it('kill -9 during a load over REST and SFTP, then restart: every accepted document delivered once in effect', async () => {
    const gw = s.gateway('solo');
    await gw.start();
    const tally = new Tally();
    const target = () => gw;
    const load = Promise.all([
      restLoad({ tally, items: itemNames('K1R', 300), target, concurrency: 8 }),
      sftpLoad({ tally, items: itemNames('K1S', 30), target, concurrency: 2, site: s.site, firstControl: 710_000_000 }),
    ]);
    await until('a third of the load accepted, deliveries in flight', () => tally.accepted.size >= 100 && s.erp.inFlight > 0, 120_000, 5);
    gw.signal('SIGKILL');
    assert.equal((await gw.exit()).signal, 'SIGKILL');
    await sleep(500);
    await gw.start();
    await load;
    const c = await settle('kill-9', tally, s.erp, { ms: SETTLE_MS });
    assertNothingLostOrDoubled(c, tally);
  });

  it('two processes on one database, one killed -9 mid-load: the other carries on, nothing lost or doubled', async () => {
    const [a, b] = [s.gateway('pair-a'), s.gateway('pair-b')];
    await Promise.all([a.start(), b.start()]);
    const tally = new Tally();
    // A load balancer: alternate between the two, and send to the survivor once one is down.
    const target = (attempt: number) => (a.running && (attempt + Math.floor(Math.random() * 2)) % 2 === 0 ? a : b);
    const load = Promise.all([
      restLoad({ tally, items: itemNames('K2R', 300), target, concurrency: 8 }),
      sftpLoad({ tally, items: itemNames('K2S', 30), target, concurrency: 2, site: s.site, firstControl: 720_000_000 }),
    ]);
    await until('a third of the load accepted, deliveries in flight', () => tally.accepted.size >= 100 && s.erp.inFlight > 0, 120_000, 5);
    a.signal('SIGKILL');
    await a.exit();
    await load;
    const c = await settle('two-processes-one-killed', tally, s.erp, { ms: SETTLE_MS });
    assertNothingLostOrDoubled(c, tally);
  });
});
