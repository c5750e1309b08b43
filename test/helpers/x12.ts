let next = 500_000_000 + (process.pid % 1000) * 1000;

/**
 * The same interchange under another ISA13 (and IEA02): a new interchange as far as duplicate
 * detection goes. Without `control`, a fresh number each call.
 */
export function withControl(x12: string | Buffer, control = next++): string {
  const text = Buffer.isBuffer(x12) ? x12.toString('latin1') : x12;
  const el = text[3] as string;
  const fields = text.slice(0, 106).split(el);
  const old = fields[13] as string;
  const ctl = String(control).padStart(9, '0');
  fields[13] = ctl;
  const iea = `IEA${el}`;
  const at = text.lastIndexOf(`${iea}`);
  const tail = text.slice(at).replace(`${el}${old}`, `${el}${ctl}`);
  return fields.join(el) + text.slice(106, at) + tail;
}
