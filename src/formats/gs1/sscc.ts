import { GatewayError } from '../../errors.js';

/**
 * Serial Shipping Container Codes (SSCC-18, GS1 application identifier 00): the number a carton or
 * pallet label carries. Eighteen digits: an extension digit, the GS1 company prefix (7 to 10 digits),
 * a serial reference filling the digits the prefix leaves (9 down to 6) and the GS1 mod-10 check digit.
 */

export const SSCC_LENGTH = 18;
const BODY_LENGTH = SSCC_LENGTH - 1;

/**
 * The GS1 check digit of the 17 digits before it: from the right, digits weigh 3, 1, 3, 1 …; the
 * check digit brings the weighted sum up to the next multiple of ten.
 */
export function ssccCheckDigit(first17: string): string {
  if (!new RegExp(`^[0-9]{${BODY_LENGTH}}$`).test(first17))
    throw new GatewayError('GW_SSCC_INVALID', `An SSCC check digit is computed over 17 digits, not "${first17}".`);
  return gs1CheckDigit(first17);
}

/** The GS1 mod-10 check digit of any digit string (GTIN, GLN and SSCC share it). */
export function gs1CheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    const fromRight = digits.length - 1 - i;
    sum += Number(digits[i]) * (fromRight % 2 === 0 ? 3 : 1);
  }
  return String((10 - (sum % 10)) % 10);
}

/** Eighteen digits whose last is the GS1 check digit of the seventeen before it. */
export function isValidSscc(sscc: string): boolean {
  return new RegExp(`^[0-9]{${SSCC_LENGTH}}$`).test(sscc) && gs1CheckDigit(sscc.slice(0, BODY_LENGTH)) === sscc[BODY_LENGTH];
}

/** A GS1 company prefix as GS1 member organisations allocate them for SSCCs: 7 to 10 digits. */
export function isCompanyPrefix(prefix: string): boolean {
  return /^[0-9]{7,10}$/.test(prefix);
}

/** The largest serial reference that fits beside a company prefix of this length. */
export function maxSerial(companyPrefix: string): number {
  return 10 ** (BODY_LENGTH - 1 - companyPrefix.length) - 1;
}

/**
 * The SSCC for one serial reference: extension digit, company prefix, the serial padded with zeros
 * to fill the seventeen digits, check digit. A serial that does not fit is refused, never truncated:
 * a truncated serial would repeat an SSCC already on a carton.
 */
export function makeSscc(extensionDigit: number, companyPrefix: string, serial: number): string {
  if (!Number.isInteger(extensionDigit) || extensionDigit < 0 || extensionDigit > 9)
    throw new GatewayError('GW_SSCC_INVALID', `The SSCC extension digit must be 0 to 9, not ${extensionDigit}.`);
  if (!isCompanyPrefix(companyPrefix)) throw new GatewayError('GW_SSCC_INVALID', `A GS1 company prefix has 7 to 10 digits, not "${companyPrefix}".`);
  const max = maxSerial(companyPrefix);
  if (!Number.isSafeInteger(serial) || serial < 0 || serial > max)
    throw new GatewayError('GW_SSCC_INVALID', `Serial reference ${serial} does not fit beside company prefix ${companyPrefix}: it allows 0 to ${max}.`);
  const body = `${extensionDigit}${companyPrefix}${String(serial).padStart(BODY_LENGTH - 1 - companyPrefix.length, '0')}`;
  return body + gs1CheckDigit(body);
}
