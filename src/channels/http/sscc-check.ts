/**
 * Whether an SSCC (18 digits) carries the right GS1 mod-10 check digit: the first 17 digits weighted
 * 3, 1, 3 … from the right, check = (10 − sum mod 10) mod 10.
 */
export function isValidSscc(sscc: string): boolean {
  if (!/^\d{18}$/.test(sscc)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(sscc[16 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (sum % 10)) % 10 === Number(sscc[17]);
}
