import { CsvError, parse } from 'csv-parse/sync';
import { GatewayError } from '../../errors.js';

/** How a CSV file is written: what the reader needs to turn its bytes into rows. */
export interface CsvDialect {
  /** true: the first row names the columns; false: columns are addressed by position only. */
  header: boolean;
  delimiter: string;
  quote: string;
  /** A WHATWG encoding label: utf-8, windows-1252, iso-8859-1 … */
  encoding: string;
  /** Rows to skip before the header or the data (titles, banners). */
  skipRows: number;
}

export interface CsvRow {
  /** 1-based physical line where the row starts. */
  line: number;
  values: string[];
}

export interface CsvTable {
  columns: string[];
  rows: CsvRow[];
}

/** Most fields a row may have; csv-parse takes quadratic time on very wide rows (a million columns: minutes). */
export const MAX_CSV_COLUMNS = 10_000;

/**
 * The line of the first record with more than `max` fields (delimiters outside quotes counted),
 * or 0. Linear, and run before the parser.
 */
function tooWide(text: string, delimiter: string, quote: string, max: number): number {
  const d = delimiter.charCodeAt(0);
  const q = quote ? quote.charCodeAt(0) : -1;
  let fields = 1;
  let line = 1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) line++;
    if (c === q) quoted = !quoted;
    else if (quoted) continue;
    else if (c === d && delimiter.length === 1) {
      if (++fields > max) return line;
    } else if (c === 0x0a) fields = 1;
  }
  return 0;
}

/** Decodes and parses a CSV payload. Every row keeps its line number for error reports. */
export function parseCsv(bytes: Uint8Array, opts: CsvDialect): CsvTable {
  let text: string;
  try {
    text = new TextDecoder(opts.encoding, { fatal: opts.encoding.toLowerCase().replace('-', '') === 'utf8' }).decode(bytes);
  } catch {
    throw new GatewayError('GW_CSV_SYNTAX', `The file is not valid ${opts.encoding}; set source.encoding in the mapping profile (e.g. windows-1252).`, {
      location: { line: 1 },
    });
  }
  const wide = tooWide(text, opts.delimiter, opts.quote, MAX_CSV_COLUMNS);
  if (wide)
    throw new GatewayError(
      'GW_CSV_SYNTAX',
      `Line ${wide} has more than ${MAX_CSV_COLUMNS.toLocaleString('en')} fields; the gateway reads rows ` +
        `up to that width. Check the delimiter (source.delimiter is "${opts.delimiter}") or split the file.`,
      { location: { line: wide } },
    );
  let records: { record: string[]; raw: string }[];
  try {
    records = parse(text, {
      delimiter: opts.delimiter,
      quote: opts.quote,
      bom: true,
      raw: true,
      relax_column_count: true,
      skip_empty_lines: true,
      from_line: opts.skipRows + 1,
    }) as unknown as typeof records;
  } catch (err) {
    if (!(err instanceof CsvError)) throw err;
    const line = (err as CsvError & { lines?: number }).lines;
    throw new GatewayError('GW_CSV_SYNTAX', `The CSV cannot be read: ${err.message}`, { location: line ? { line } : {} });
  }
  // Line numbers are counted from each record's raw text (which carries the empty lines skipped
  // before it): csv-parse's own counter counts a CRLF inside quotes twice.
  let consumed = opts.skipRows;
  const rows = records.map(({ record, raw }) => {
    const leading = /^(?:\r\n|\n|\r)*/.exec(raw)?.[0].match(/\r\n|\n|\r/g)?.length ?? 0;
    const line = consumed + leading + 1;
    consumed += raw.match(/\r\n|\n|\r/g)?.length ?? 0;
    return { line, values: record };
  });
  if (!opts.header) return { columns: [], rows };
  const [head, ...data] = rows;
  return { columns: (head?.values ?? []).map((c) => c.trim()), rows: data };
}
