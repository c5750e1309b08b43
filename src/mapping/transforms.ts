import type { Scalar } from './source.js';

/** A transform as written in a profile: a name, or a one-key object with its argument. */
export type TransformSpec =
  | 'trim' | 'upper' | 'lower' | 'number' | 'integer' | 'date' | 'time'
  | { impliedDecimals: number }
  | { date: 'CCYYMMDD' | 'YYMMDD' | 'ISO' }
  | { time: 'HHMM' | 'HHMMSS' | 'ISO' }
  | { codeList: string }
  | { multiply: number };

export type CodeLists = Record<string, Record<string, Scalar>>;

/** Thrown by a transform; the engine adds the rule and the source location. */
export class TransformError extends Error {}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;

function toNumber(v: Scalar): number {
  if (typeof v === 'number') return v;
  const s = String(v).trim();
  if (!NUMBER.test(s)) throw new TransformError(`"${s}" is not a number`);
  return Number(s);
}

function isoDate(y: number, m: number, d: number, raw: string): string {
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) throw new TransformError(`"${raw}" is not a calendar date`);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** @see X12.6 data element types DT (CCYYMMDD or YYMMDD) and TM (HHMM[SS[d..]]). */
function date(v: Scalar, format: 'CCYYMMDD' | 'YYMMDD' | 'ISO'): string {
  const s = String(v).trim();
  if (format === 'ISO') {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
    if (!m) throw new TransformError(`"${s}" is not an ISO 8601 date (YYYY-MM-DD)`);
    return isoDate(Number(m[1]), Number(m[2]), Number(m[3]), s);
  }
  if (format === 'CCYYMMDD') {
    if (!/^\d{8}$/.test(s)) throw new TransformError(`"${s}" is not a CCYYMMDD date`);
    return isoDate(Number(s.slice(0, 4)), Number(s.slice(4, 6)), Number(s.slice(6, 8)), s);
  }
  if (!/^\d{6}$/.test(s)) throw new TransformError(`"${s}" is not a YYMMDD date`);
  const yy = Number(s.slice(0, 2));
  // X12 convention for 6-digit dates: a sliding century window around the year 2000.
  return isoDate(yy < 50 ? 2000 + yy : 1900 + yy, Number(s.slice(2, 4)), Number(s.slice(4, 6)), s);
}

function time(v: Scalar, format: 'HHMM' | 'HHMMSS' | 'ISO'): string {
  const s = String(v).trim();
  const m = format === 'ISO' ? /^(\d{2}):(\d{2})(?::(\d{2}))?/.exec(s) : /^(\d{2})(\d{2})(\d{2})?\d*$/.exec(s);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || (m[3] !== undefined && Number(m[3]) > 59)) throw new TransformError(`"${s}" is not a ${format} time`);
  return m[3] !== undefined && format !== 'HHMM' ? `${m[1]}:${m[2]}:${m[3]}` : `${m[1]}:${m[2]}`;
}

/** Applies one transform. Pure: no I/O, no clock. */
export function applyTransform(spec: TransformSpec, v: Scalar, codeLists: CodeLists): Scalar {
  if (typeof spec === 'string') {
    switch (spec) {
      case 'trim': return String(v).trim();
      case 'upper': return String(v).toUpperCase();
      case 'lower': return String(v).toLowerCase();
      case 'number': return toNumber(v);
      case 'integer': {
        const n = toNumber(v);
        if (!Number.isInteger(n)) throw new TransformError(`"${v}" is not a whole number`);
        return n;
      }
      case 'date': return date(v, typeof v === 'string' && v.includes('-') ? 'ISO' : 'CCYYMMDD');
      case 'time': return time(v, typeof v === 'string' && v.includes(':') ? 'ISO' : 'HHMM');
    }
  }
  if ('impliedDecimals' in spec) {
    const s = String(v).trim();
    if (!/^[+-]?\d+$/.test(s)) throw new TransformError(`"${s}" is not an implied-decimal number (digits only, e.g. X12 N2)`);
    return Number(s) / 10 ** spec.impliedDecimals;
  }
  if ('date' in spec) return date(v, spec.date);
  if ('time' in spec) return time(v, spec.time);
  if ('multiply' in spec) return Math.round(toNumber(v) * spec.multiply * 1e6) / 1e6;
  const list = codeLists[spec.codeList];
  if (!list) throw new TransformError(`code list "${spec.codeList}" is not defined in the profile`);
  const key = String(v).trim();
  const out = list[key];
  if (out === undefined) throw new TransformError(`"${key}" is not in code list ${spec.codeList} (known: ${Object.keys(list).join(', ')})`);
  return out;
}
