/**
 * A large EDIFACT interchange for tests and benchmarks: DESADV D:96A messages from the nordlicht
 * demo partner to us (as its sample, mappings/nordlicht/samples), each with `lines` LIN groups,
 * every line in its own package (CPS/PAC) with product ids, description, quantity and order reference.
 */
export function largeDesadv(messages: number, lines: number, ref = 'NL9000001'): string {
  const out = ["UNA:+.? '", `UNB+UNOC:3+4012345000009:14+5412345000013:14+261129:1800+${ref}'`];
  for (let m = 1; m <= messages; m++) for (const segment of desadv(`${ref}-${m}`, String(m), lines)) out.push(segment);
  out.push(`UNZ+${messages}+${ref}'`);
  return `${out.join('\n')}\n`;
}

function desadv(shipment: string, unh: string, lines: number): string[] {
  const segments = [
    `UNH+${unh}+DESADV:D:96A:UN:EAN005'`,
    `BGM+351+${shipment}+9'`,
    "DTM+137:20261128:102'",
    "DTM+11:20261128:102'",
    "RFF+ON:PO-2026-2044'",
    "NAD+SU+4012345000009::9++NORDLICHT LEUCHTEN GMBH+HAFENSTRASSE 12+HAMBURG++20457+DE'",
    "NAD+DP+5412345000013::9++DEMO DISTRIBUTION DC1+88 LOGISTICS WAY+RENO+NV+89521+US'",
    "CPS+1'",
  ];
  for (let i = 1; i <= lines; i++)
    segments.push(
      `CPS+${i + 1}+1'`,
      "PAC+1++CT'",
      `LIN+${i}++${String(4012345000000 + i)}:EN'`,
      `PIA+5+NL-LED-${i}:SA'`,
      "IMD+F++:::LED panel 40 W'",
      `QTY+12:${(i % 50) + 1}:PCE'`,
      "RFF+ON:PO-2026-2044'",
    );
  segments.push(`CNT+2:${lines}'`);
  segments.push(`UNT+${segments.length + 1}+${unh}'`);
  return segments;
}
