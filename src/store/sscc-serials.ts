import type { Knex } from 'knex';
import { GatewayError } from '../errors.js';
import { makeSscc, maxSerial } from '../formats/gs1/sscc.js';
import type { PartnerProfile } from '../types.js';

/** A shipment's cartons in one call; a larger number is a mistake, not a shipment. */
export const MAX_SSCCS_PER_CALL = 10_000;

/**
 * Hands out `count` new SSCCs for the partner, from its GS1 company prefix and its counter in
 * `sscc_serials`. One statement moves the counter: PostgreSQL locks the row for the upsert, so
 * allocations running at the same time (in any gateway process) queue on it and never share a serial.
 * A range that would run past what the prefix leaves room for is refused whole and the counter stays.
 */
export async function allocateSsccs(knex: Knex, partner: Pick<PartnerProfile, 'id' | 'gs1'>, count: number): Promise<string[]> {
  const gs1 = partner.gs1;
  if (!gs1)
    throw new GatewayError(
      'GW_SSCC_PREFIX',
      `Partner ${partner.id} declares no GS1 company prefix (gs1.companyPrefix in its profile); no SSCC can be made for it.`,
    );
  if (!Number.isInteger(count) || count < 1 || count > MAX_SSCCS_PER_CALL)
    throw new GatewayError('GW_REQUEST_INVALID', `SSCCs are allocated 1 to ${MAX_SSCCS_PER_CALL} at a time, not ${count}.`);
  const max = maxSerial(gs1.companyPrefix);
  return knex.transaction(async (trx) => {
    const { rows } = await trx.raw<{ rows: { last_serial: string }[] }>(
      `INSERT INTO sscc_serials (partner_id, company_prefix, extension_digit, last_serial) VALUES (?, ?, ?, ?)
       ON CONFLICT (partner_id, company_prefix, extension_digit)
       DO UPDATE SET last_serial = sscc_serials.last_serial + EXCLUDED.last_serial, updated_at = now()
       RETURNING last_serial`,
      [partner.id, gs1.companyPrefix, gs1.extensionDigit, count],
    );
    const last = Number(rows[0]?.last_serial);
    if (last > max)
      throw new GatewayError(
        'GW_SSCC_INVALID',
        `Partner ${partner.id} has ${Math.max(0, max - (last - count))} SSCC serials left under prefix ${gs1.companyPrefix} ` +
          `and extension digit ${gs1.extensionDigit}, not ${count}: choose another extension digit.`,
      );
    return Array.from({ length: count }, (_, i) => makeSscc(gs1.extensionDigit, gs1.companyPrefix, last - count + 1 + i));
  });
}
