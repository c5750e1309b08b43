import type { ExpectedValue } from '../errors.js';
import type { Scalar } from './source.js';

/** A transform as written in a profile: a name, or a one-key object with its argument. */
export type TransformSpec =
  | 'trim'
  | 'upper'
  | 'lower'
  | 'number'
  | 'integer'
  | 'date'
  | 'time'
  | 'dateTime'
  | 'string'
  | { impliedDecimals: number }
  | { number: { decimal?: '.' | ','; group?: '' | '.' | ',' | ' ' | "'" } }
  | { date: string }
  | { time: 'HHMM' | 'HHMMSS' | 'ISO' }
  | { dateTime: 'ISO' | { format: string; zone?: string } }
  | { codeList: string }
  | { xref: string; column: string }
  | { multiply: number }
  | { substring: [number, number?] }
  | { replace: [string, string] }
  | { prefix: string }
  | { suffix: string };

export type CodeLists = Record<string, Record<string, Scalar>>;

/** A cross-reference table loaded from a CSV file: key column value → the row, by column name. */
export interface XrefTable {
  file: string;
  key: string;
  columns: string[];
  rows: Map<string, Record<string, string>>;
}

/** What transforms may read besides the value: the profile's own tables, fixed when it was compiled. */
export interface TransformContext {
  codeLists: CodeLists;
  xref: Record<string, XrefTable>;
  /** The source's decimal separator for `number` (CSV feeds with decimal commas). */
  decimal: '.' | ',';
}

/** Thrown by a transform; the engine adds the rule and the source location. */
export class TransformError extends Error {
  constructor(
    message: string,
    readonly code: 'GW_MAP_TRANSFORM' | 'GW_MAP_XREF' = 'GW_MAP_TRANSFORM',
    /** What the value should have been, when a date or a time (a 997/999 reports those apart). */
    readonly expected?: ExpectedValue,
  ) {
    super(message);
  }
}

const dateError = (message: string) => new TransformError(message, 'GW_MAP_TRANSFORM', 'date');
const timeError = (message: string) => new TransformError(message, 'GW_MAP_TRANSFORM', 'time');

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)$/;

function toNumber(v: Scalar, decimal: '.' | ',' = '.', group?: string): number {
  if (typeof v === 'number') return v;
  let s = String(v).trim();
  // Trailing minus, as some ERPs and X12 exports write negatives: 12.50-
  if (/^[^-]+-$/.test(s)) s = `-${s.slice(0, -1)}`;
  const g = group ?? (decimal === ',' ? '.' : ',');
  if (decimal === ',' && group === undefined && /^[+-]?\d+\.\d{1,2}$/.test(s)) throw new TransformError(`"${s}" is not a number with a decimal comma`);
  if (g && s.includes(g)) {
    // Group separators only between groups of three digits: 1.234.567,89 or 1,234.5
    const [int] = s.split(decimal);
    if (!new RegExp(`^[+-]?\\d{1,3}(${g === '.' ? '\\.' : g}\\d{3})+$`).test(int ?? '')) throw new TransformError(`"${s}" is not a number (misplaced "${g}")`);
    s = s.split(g).join('');
  }
  if (decimal === ',') {
    if (s.includes('.')) throw new TransformError(`"${s}" is not a number with a decimal comma`);
    s = s.replace(',', '.');
  }
  if (!NUMBER.test(s)) throw new TransformError(`"${String(v).trim()}" is not a number${decimal === ',' ? ' (decimal comma)' : ''}`);
  return Number(s);
}

function isoDate(y: number, m: number, d: number, raw: string): string {
  const dt = new Date(Date.UTC(y, m - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== m - 1 || dt.getUTCDate() !== d) throw dateError(`"${raw}" is not a calendar date`);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Pattern tokens: CCYY (or YYYY), YY, MM month, DD, HH, mm minutes, SS; anything else is literal. */
const TOKENS = /CCYY|YYYY|YY|MM|DD|HH|mm|SS/g;
const compiledPatterns = new Map<string, { re: RegExp; tokens: string[] }>();

export function datePattern(format: string): { re: RegExp; tokens: string[] } {
  let c = compiledPatterns.get(format);
  if (!c) {
    const tokens: string[] = [];
    let src = '';
    let last = 0;
    for (const m of format.matchAll(TOKENS)) {
      src += format.slice(last, m.index).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      tokens.push(m[0]);
      src += m[0] === 'CCYY' || m[0] === 'YYYY' ? '(\\d{4})' : '(\\d{2})';
      last = (m.index ?? 0) + m[0].length;
    }
    src += format.slice(last).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    if (!tokens.some((t) => t === 'CCYY' || t === 'YYYY' || t === 'YY') && !tokens.includes('HH'))
      throw new Error(`date format "${format}" has neither a year (CCYY, YY) nor an hour (HH)`);
    c = { re: new RegExp(`^${src}$`), tokens };
    compiledPatterns.set(format, c);
  }
  return c;
}

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function readPattern(s: string, format: string): Parts {
  const { re, tokens } = datePattern(format);
  const m = re.exec(s);
  if (!m) throw dateError(`"${s}" is not a date in the format ${format}`);
  const p: Parts = { y: 0, mo: 1, d: 1, h: 0, mi: 0, s: 0 };
  tokens.forEach((t, i) => {
    const n = Number(m[i + 1]);
    if (t === 'CCYY' || t === 'YYYY') p.y = n;
    // X12 convention for 2-digit years: a sliding century window around the year 2000.
    else if (t === 'YY') p.y = n < 50 ? 2000 + n : 1900 + n;
    else if (t === 'MM') p.mo = n;
    else if (t === 'DD') p.d = n;
    else if (t === 'HH') p.h = n;
    else if (t === 'mm') p.mi = n;
    else p.s = n;
  });
  if (p.h > 23 || p.mi > 59 || p.s > 59) throw timeError(`"${s}" has an impossible time of day`);
  return p;
}

/** @see X12.6 data element types DT (CCYYMMDD or YYMMDD) and TM (HHMM[SS[d..]]). */
function date(v: Scalar, format: string): string {
  const s = String(v).trim();
  if (format === 'ISO') {
    const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
    if (!m) throw dateError(`"${s}" is not an ISO 8601 date (YYYY-MM-DD)`);
    return isoDate(Number(m[1]), Number(m[2]), Number(m[3]), s);
  }
  const p = readPattern(s, format);
  return isoDate(p.y, p.mo, p.d, s);
}

function time(v: Scalar, format: 'HHMM' | 'HHMMSS' | 'ISO'): string {
  const s = String(v).trim();
  const m = format === 'ISO' ? /^(\d{2}):(\d{2})(?::(\d{2}))?/.exec(s) : /^(\d{2})(\d{2})(\d{2})?\d*$/.exec(s);
  if (!m || Number(m[1]) > 23 || Number(m[2]) > 59 || (m[3] !== undefined && Number(m[3]) > 59)) throw timeError(`"${s}" is not a ${format} time`);
  return m[3] !== undefined && format !== 'HHMM' ? `${m[1]}:${m[2]}:${m[3]}` : `${m[1]}:${m[2]}`;
}

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The offset of an IANA time zone at a UTC instant, in minutes east of UTC. */
function zoneOffset(zone: string, utcMs: number): number {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  const p = Object.fromEntries(f.formatToParts(new Date(utcMs)).map((x) => [x.type, Number(x.value)]));
  return (Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second) - Math.floor(utcMs / 1000) * 1000) / 60_000;
}

/** Checks an IANA zone or a fixed offset (`-05:00`); throws Error for the profile compiler. */
export function checkZone(zone: string): void {
  if (/^[+-]\d{2}:\d{2}$/.test(zone) || zone === 'UTC') return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new Error(`"${zone}" is not a time zone; write an IANA name such as America/Chicago or an offset such as -05:00`);
  }
}

/** A date and time as an instant in UTC: `2000-10-14T16:30:19Z`. Local times are read in `zone`. */
function dateTime(v: Scalar, spec: 'ISO' | { format: string; zone?: string }): string {
  const s = String(v).trim();
  let utc: number;
  if (spec === 'ISO') {
    const m = ISO_DATE_TIME.exec(s);
    if (!m) throw dateError(`"${s}" is not an ISO 8601 date-time with a zone (e.g. 2024-03-01T08:30:00-05:00)`);
    isoDate(Number(m[1]), Number(m[2]), Number(m[3]), s);
    if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6] ?? 0) > 59) throw timeError(`"${s}" has an impossible time of day`);
    const zone = m[8] as string;
    const offset = zone === 'Z' ? 0 : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2)));
    utc = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)) - offset * 60_000;
  } else {
    const p = readPattern(s, spec.format);
    isoDate(p.y, p.mo, p.d, s);
    const local = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s);
    const zone = spec.zone ?? 'UTC';
    if (/^[+-]\d{2}:\d{2}$/.test(zone)) utc = local - (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4))) * 60_000;
    else {
      // Two passes find the offset in force at that local time (daylight saving changes included).
      const first = local - zoneOffset(zone, local) * 60_000;
      utc = local - zoneOffset(zone, first) * 60_000;
    }
  }
  return new Date(utc).toISOString().replace('.000Z', 'Z');
}

/** Applies one transform. Pure: no I/O, no clock. */
export function applyTransform(spec: TransformSpec, v: Scalar, ctx: TransformContext): Scalar {
  if (typeof spec === 'string') {
    switch (spec) {
      case 'trim':
        return String(v).trim();
      case 'upper':
        return String(v).toUpperCase();
      case 'lower':
        return String(v).toLowerCase();
      case 'string':
        return String(v);
      case 'number':
        return toNumber(v, ctx.decimal);
      case 'integer': {
        const n = toNumber(v, ctx.decimal);
        if (!Number.isInteger(n)) throw new TransformError(`"${v}" is not a whole number`);
        return n;
      }
      case 'date':
        return date(v, typeof v === 'string' && v.includes('-') ? 'ISO' : 'CCYYMMDD');
      case 'time':
        return time(v, typeof v === 'string' && v.includes(':') ? 'ISO' : 'HHMM');
      case 'dateTime':
        return dateTime(v, 'ISO');
    }
  }
  if ('impliedDecimals' in spec) {
    const s = String(v).trim();
    if (!/^[+-]?\d+$/.test(s)) throw new TransformError(`"${s}" is not an implied-decimal number (digits only, e.g. X12 N2)`);
    return Number(s) / 10 ** spec.impliedDecimals;
  }
  if ('number' in spec) return toNumber(v, spec.number.decimal ?? ctx.decimal, spec.number.group);
  if ('date' in spec) return date(v, spec.date);
  if ('time' in spec) return time(v, spec.time);
  if ('dateTime' in spec) return dateTime(v, spec.dateTime);
  if ('multiply' in spec) return Math.round(toNumber(v, ctx.decimal) * spec.multiply * 1e6) / 1e6;
  if ('substring' in spec) return String(v).slice(spec.substring[0], spec.substring[1] === undefined ? undefined : spec.substring[0] + spec.substring[1]);
  if ('replace' in spec) return String(v).split(spec.replace[0]).join(spec.replace[1]);
  if ('prefix' in spec) return `${spec.prefix}${v}`;
  if ('suffix' in spec) return `${v}${spec.suffix}`;
  if ('xref' in spec) {
    const table = ctx.xref[spec.xref];
    if (!table) throw new TransformError(`cross-reference table "${spec.xref}" is not defined in the profile`);
    const key = String(v).trim();
    const row = table.rows.get(key);
    if (!row)
      throw new TransformError(
        `"${key}" is not in cross-reference table ${spec.xref} (${table.file}, column ${table.key}); add it there or correct the document`,
        'GW_MAP_XREF',
      );
    const out = row[spec.column];
    if (!out) throw new TransformError(`cross-reference table ${spec.xref} has no ${spec.column} for "${key}" (${table.file})`, 'GW_MAP_XREF');
    return out;
  }
  const list = ctx.codeLists[spec.codeList];
  if (!list) throw new TransformError(`code list "${spec.codeList}" is not defined in the profile`);
  const key = String(v).trim();
  const out = list[key];
  if (out === undefined) throw new TransformError(`"${key}" is not in code list ${spec.codeList} (known: ${Object.keys(list).join(', ')})`);
  return out;
}
