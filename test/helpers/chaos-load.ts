import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MAPPINGS } from './corpus.js';
import { NORTHWIND_KEY } from './gateway.js';
import type { ChaosErp } from './chaos-erp.js';
import { sleep, until, type ChaosSite } from './chaos-gateway.js';
import { runProcess, type ProcessRun } from './cli.js';
import { withControl } from './x12.js';

const asnJson = readFileSync(path.join(MAPPINGS, 'northwind', 'samples', 'asn.json'), 'utf8');
const asnX12 = readFileSync(path.join(MAPPINGS, 'acme-supply', 'samples', '856-004060-SOI.edi'), 'latin1');

/** What the partners sent and what the gateway told them: the client side of the count. */
export class Tally {
  readonly sent = new Set<string>();
  /** Items answered 202 (REST) or closed successfully (SFTP), with the message id when known. */
  readonly accepted = new Map<string, string | undefined>();
  /** Answers that were neither success nor a retryable refusal: a scenario expects none. */
  readonly refused: string[] = [];
  /** Attempts that failed and were retried (503, reset connections, failed closes). */
  retries = 0;
}

/** `n` item names: `<prefix>0000`, `<prefix>0001`, … (each becomes a shipment id). */
export const itemNames = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

/** A JSON ship notice of the REST partner whose shipment id is `item`. */
export const restBody = (item: string) => asnJson.replace('NW-SH-10045', item);

/** An X12 856 of the SFTP partner whose BSN02 (shipment id) is `item`, under its own ISA13. */
export const x12File = (item: string, control: number) => withControl(asnX12.replace('BSN*14*829716*', `BSN*14*${item}*`), control);

export interface LoadOptions {
  tally: Tally;
  items: string[];
  /** Where to send the next attempt (a load balancer's choice: any process that should be up). */
  target: (attempt: number) => { url: string; sftpPort: number };
  concurrency: number;
  /** Stop retrying an item after this long; it then counts as sent and not accepted. */
  giveUpMs?: number;
  /** Checked the moment a success is answered (e.g. the row must already be committed). */
  onAccepted?: (item: string, messageId: string | undefined) => Promise<void>;
}

/** Runs `work` over `items` with `concurrency` workers. */
async function pool<T>(items: T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        await work(items[i] as T, i);
      }
    }),
  );
}

/**
 * Posts each item as a partner's script does: with an Idempotency-Key, retrying a 429/5xx or a
 * broken connection with the same key until a 202 (or `giveUpMs`).
 */
export async function restLoad(o: LoadOptions): Promise<void> {
  await pool(o.items, o.concurrency, async (item) => {
    o.tally.sent.add(item);
    const giveUp = Date.now() + (o.giveUpMs ?? 120_000);
    for (let attempt = 0; Date.now() < giveUp; attempt++) {
      try {
        const res = await fetch(`${o.target(attempt).url}/v1/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${NORTHWIND_KEY}`, 'content-type': 'application/json', 'idempotency-key': item },
          body: restBody(item),
          signal: AbortSignal.timeout(30_000),
        });
        const body = (await res.json().catch(() => ({}))) as { messageId?: string };
        if (res.status === 202) {
          await o.onAccepted?.(item, body.messageId);
          o.tally.accepted.set(item, body.messageId);
          return;
        }
        if (res.status !== 429 && res.status < 500) {
          o.tally.refused.push(`${item}: HTTP ${res.status} ${JSON.stringify(body)}`);
          return;
        }
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_ASSERTION') throw err;
      }
      o.tally.retries++;
      await sleep(100 + Math.random() * 200);
    }
  });
}

/**
 * Puts each item as an X12 file with OpenSSH sftp, one session per file; a failed put or close is
 * put again, the same bytes under the same ISA13 (the gateway's duplicate check then keeps it once).
 */
export async function sftpLoad(o: LoadOptions & { site: ChaosSite; firstControl: number }): Promise<void> {
  await pool(o.items, o.concurrency, async (item, i) => {
    o.tally.sent.add(item);
    const file = `${item}.edi`;
    writeFileSync(path.join(o.site.dir, file), x12File(item, o.firstControl + i), 'latin1');
    const giveUp = Date.now() + (o.giveUpMs ?? 120_000);
    for (let attempt = 0; Date.now() < giveUp; attempt++) {
      const r = await sftpPut(o.site, o.target(attempt).sftpPort, file);
      if (r.status === 0) {
        await o.onAccepted?.(item, undefined);
        o.tally.accepted.set(item, undefined);
        return;
      }
      o.tally.retries++;
      await sleep(200 + Math.random() * 300);
    }
  });
}

/** `sftp -b -` putting `file` into /inbound, strict about host keys, as a partner's script does. */
export function sftpPut(site: ChaosSite, port: number, file: string): Promise<ProcessRun> {
  const args = [
    '-b',
    '-',
    '-P',
    String(port),
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${site.knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    `IdentityFile=${site.sftpKey.identity}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    '-o',
    'LogLevel=ERROR',
    'acme-supply@127.0.0.1',
  ];
  return runProcess('sftp', args, { cwd: site.dir, input: `cd inbound\nput ${file}\n`, timeoutMs: 60_000 }).catch((err: Error) => ({
    status: -1,
    stdout: '',
    stderr: err.message,
  }));
}

export interface Counts {
  sent: number;
  accepted: number;
  delivered: number;
  duplicates: number;
  lost: number;
}

/**
 * Waits (up to `ms`) until the ERP has processed every accepted item not in `expectDead`, then
 * counts by idempotency key at the ERP: an item processed under two keys is a duplicate in effect;
 * an accepted item never processed is lost. Prints the scenario's line.
 */
export async function settle(name: string, tally: Tally, erp: ChaosErp, o: { ms?: number; expectDead?: Set<string>; extra?: string } = {}): Promise<Counts> {
  const dead = o.expectDead ?? new Set<string>();
  const outstanding = () => [...tally.accepted.keys()].filter((i) => !dead.has(i) && !erp.keysByItem().has(i));
  await until('every accepted item at the ERP', () => outstanding().length === 0, o.ms ?? 120_000, 250).catch(() => undefined);
  // A late retry of something already processed would show up here: give it a moment.
  await sleep(1000);
  const byItem = erp.keysByItem();
  const accepted = [...tally.accepted.keys()];
  const counts: Counts = {
    sent: tally.sent.size,
    accepted: accepted.length,
    delivered: accepted.filter((i) => byItem.has(i)).length,
    duplicates: [...byItem.values()].filter((keys) => keys.size > 1).length,
    lost: outstanding().length,
  };
  console.log(
    `      chaos ${name}: sent ${counts.sent}, accepted ${counts.accepted}, delivered ${counts.delivered}, ` +
      `duplicates in effect ${counts.duplicates}, lost ${counts.lost}${o.extra ? `, ${o.extra}` : ''} ` +
      `(client retries ${tally.retries}; the ERP saw ${erp.processed.length - distinctKeys(erp)} repeated key(s), harmless)`,
  );
  return counts;
}

function distinctKeys(erp: ChaosErp): number {
  return new Set(erp.processed.map((d) => d.idempotencyKey)).size;
}

/** The assertions every scenario ends with. */
export function assertNothingLostOrDoubled(c: Counts, tally: Tally, lostItems?: () => string[]): void {
  assert.deepEqual(tally.refused, [], 'no item was refused');
  assert.equal(c.lost, 0, `accepted but never delivered: ${lostItems?.().join(', ') ?? ''}`);
  assert.equal(c.duplicates, 0, 'no item takes effect twice at the ERP');
}
