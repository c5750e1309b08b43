import type { Knex } from 'knex';
import { opsStats } from './ops-stats.js';

/** What the partner list shows of each partner's traffic. */
export interface PartnerActivity {
  lastMessageAt: Date | null;
  /** Inbound messages of the last 30 days and how many of them were rejected (the console's rollups). */
  received30d: number;
  rejected30d: number;
  /** Deliveries dead and not sent again. */
  deadLetters: number;
  /** Tolerance exceptions open or assigned (decision 0036). */
  openExceptions: number;
}

/**
 * Each partner's last message, 30-day volume and rejections, dead letters and open exceptions. The volume comes
 * from the stats rollups (decision 0031); the last message is one index probe per partner
 * (`messages (partner_id, received_at)`), not a scan of every message.
 */
export async function partnerActivity(knex: Knex, partnerIds: readonly string[]): Promise<Map<string, PartnerActivity>> {
  const [stats, last, dead, exceptions] = await Promise.all([
    opsStats(knex, '30d'),
    knex.raw<{ rows: { id: string; at: Date | null }[] }>(
      `SELECT p.id, (SELECT m.received_at FROM messages m WHERE m.partner_id = p.id ORDER BY m.received_at DESC LIMIT 1) AS at
       FROM unnest(?::text[]) AS p(id)`,
      [[...partnerIds]],
    ),
    knex('deliveries as d')
      .select('d.partner_id')
      .count<{ partner_id: string; count: string }[]>('* as count')
      .where('d.state', 'dead')
      .whereNotExists((q) => q.select(knex.raw('1')).from('deliveries as r').whereRaw('r.redelivery_of = d.id'))
      .groupBy('d.partner_id'),
    knex('business_exceptions')
      .select('partner_id')
      .count<{ partner_id: string; count: string }[]>('* as count')
      .whereIn('state', ['open', 'assigned'])
      .groupBy('partner_id'),
  ]);
  const exceptionsOf = new Map(exceptions.map((r) => [r.partner_id, Number(r.count)]));
  const lastOf = new Map(last.rows.map((r) => [r.id, r.at]));
  const deadOf = new Map(dead.map((r) => [r.partner_id, Number(r.count)]));
  const statsOf = new Map(stats.partners.map((s) => [s.partner, s]));
  return new Map(
    partnerIds.map((id) => [
      id,
      {
        lastMessageAt: lastOf.get(id) ?? null,
        received30d: statsOf.get(id)?.received ?? 0,
        rejected30d: statsOf.get(id)?.rejected ?? 0,
        deadLetters: deadOf.get(id) ?? 0,
        openExceptions: exceptionsOf.get(id) ?? 0,
      },
    ]),
  );
}
