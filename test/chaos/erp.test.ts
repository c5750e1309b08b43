import assert from 'node:assert/strict';
import { chaosSuite } from '../helpers/chaos.js';
import { NORTHWIND_KEY } from '../helpers/gateway.js';
import type { ErpAnswer } from '../helpers/chaos-erp.js';
import { sleep, until } from '../helpers/chaos-gateway.js';
import { assertNothingLostOrDoubled, itemNames, restLoad, settle, sftpLoad, Tally } from '../helpers/chaos-load.js';

describe('chaos: the ERP misbehaves while documents flow', () => {
  const s = chaosSuite();

  it('ERP down, then slow, then 500, then garbage and reset connections, then healthy; documents it refuses with 400 end dead and visible', async () => {
    const gw = s.gateway('erp-phases');
    await gw.start();
    const tally = new Tally();
    const rest = itemNames('E3R', 200);
    // The ERP refuses these for good (400): they must end dead-lettered and visible, not lost.
    const refused = new Set(rest.filter((_, i) => i % 25 === 7));
    let phase: (item: string, n: number) => ErpAnswer = () => ({ kind: 'ok' });
    let n = 0;
    s.erp.answer = (doc) => (refused.has(doc.item) ? { kind: 'status', status: 400 } : phase(doc.item, n++));

    await s.erp.stop();
    const load = Promise.all([
      restLoad({ tally, items: rest, target: () => gw, concurrency: 4 }),
      sftpLoad({ tally, items: itemNames('E3S', 20), target: () => gw, concurrency: 2, site: s.site, firstControl: 730_000_000 }),
    ]);
    const phases: [string, () => Promise<void> | void][] = [
      ['down', () => undefined],
      // Slower than the target's 2 s timeout: the ERP holds the document, the gateway retries it.
      [
        'slow',
        async () => {
          phase = () => ({ kind: 'ok', delayMs: 2500 });
          await s.erp.start();
        },
      ],
      ['500', () => void (phase = () => ({ kind: 'status', status: 500 }))],
      ['garbage', () => void (phase = (_, i) => (i % 2 ? { kind: 'garbage' } : { kind: 'reset' }))],
      ['healthy', () => void (phase = () => ({ kind: 'ok' }))],
    ];
    for (const [name, enter] of phases) {
      await enter();
      if (name !== 'healthy') await sleep(4000);
    }
    await load;
    const c = await settle('erp-down-slow-500-garbage', tally, s.erp, { expectDead: refused, extra: `dead-lettered, visible ${refused.size}` });
    assertNothingLostOrDoubled(c, tally);

    // Each refused document: dead, with the ERP's answer, on the status the partner reads.
    for (const item of refused) {
      const id = tally.accepted.get(item);
      assert.ok(id, `${item} was accepted`);
      await until(`${item} dead`, async () => (await messageStatus(gw.url, NORTHWIND_KEY, id)).state === 'dead', 30_000);
      const st = await messageStatus(gw.url, NORTHWIND_KEY, id);
      const deliveries = st.deliveries as { state: string; lastError: { code: string; message: string } | null }[];
      assert.ok(
        deliveries.some((d) => d.state === 'dead' && d.lastError?.code === 'GW_DELIVERY_REFUSED' && /HTTP 400/.test(d.lastError.message)),
        JSON.stringify(st.deliveries),
      );
      assert.equal(s.erp.keysByItem().has(item), false);
    }
  });
});

async function messageStatus(url: string, key: string, id: string): Promise<Record<string, any>> {
  const res = await fetch(`${url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${key}` } });
  return (await res.json()) as Record<string, any>;
}
