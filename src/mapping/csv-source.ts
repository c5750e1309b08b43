import { CsvError, parse } from 'csv-parse/sync';
import { GatewayError } from '../errors.js';
import type { PathCompiler, SourceNode, SourceValue } from './source.js';

/** How a CSV source is read, as a profile's `source` states it. */
export interface CsvOptions {
  /** true: the first row names the columns; false: columns are addressed by position only. */
  header: boolean;
  delimiter: string;
  quote: string;
  /** A WHATWG encoding label: utf-8, windows-1252, iso-8859-1 … */
  encoding: string;
  /** Rows to skip before the header or the data (titles, banners). */
  skipRows: number;
  /** One document per run of consecutive rows with the same value in this column. */
  groupBy?: string;
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

/** A column by header name, or `#3` for the third column (1-based). `rows` selects the rows of the scope. */
export type CsvPath = { kind: 'column'; name?: string; index?: number } | { kind: 'rows' };

export const csvPaths: PathCompiler<CsvPath> = {
  value(path) {
    const p = path.trim();
    if (p === '') throw new Error('an empty column name');
    const pos = /^#(\d+)$/.exec(p);
    if (pos) {
      if (Number(pos[1]) < 1) throw new Error(`"${path}": columns are numbered from #1`);
      return { kind: 'column', index: Number(pos[1]) - 1 };
    }
    return { kind: 'column', name: p };
  },
  selector(path) {
    if (path.trim() !== 'rows') throw new Error(`"${path}" is not a CSV selector; CSV profiles iterate with each: rows`);
    return { kind: 'rows' };
  },
};

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
export function parseCsv(bytes: Uint8Array, opts: CsvOptions): CsvTable {
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

const columnIndexes = new WeakMap<CsvTable, Map<string, number>>();

/** Column name → position, built once per table: a file may have a million columns. */
function columnIndex(table: CsvTable): Map<string, number> {
  let index = columnIndexes.get(table);
  if (!index) {
    index = new Map();
    for (let i = table.columns.length - 1; i >= 0; i--) index.set(table.columns[i] as string, i);
    columnIndexes.set(table, index);
  }
  return index;
}

class CsvNode implements SourceNode<CsvPath> {
  constructor(
    readonly table: CsvTable,
    readonly rows: CsvRow[],
    readonly file: string | undefined,
  ) {}

  get location() {
    const first = this.rows[0];
    return { ...(this.file ? { file: this.file } : {}), ...(first ? { line: first.line } : {}) };
  }

  private index(path: Extract<CsvPath, { kind: 'column' }>): number {
    return path.index ?? columnIndex(this.table).get(path.name as string) ?? -1;
  }

  get(path: CsvPath): SourceValue | undefined {
    if (path.kind !== 'column') return undefined;
    const i = this.index(path);
    if (i < 0) return undefined;
    // In a scope of several rows (a grouped document), header-level values come from its first row.
    const row = this.rows[0];
    const value = row?.values[i]?.trim();
    if (!row || !value) return undefined;
    return {
      value,
      location: {
        ...(this.file ? { file: this.file } : {}),
        line: row.line,
        column: i + 1,
        ...(this.table.columns[i] ? { csvColumn: this.table.columns[i] } : {}),
      },
    };
  }

  each(path: CsvPath): CsvNode[] {
    if (path.kind !== 'rows') return [];
    return this.rows.map((r) => new CsvNode(this.table, [r], this.file));
  }

  at(path: CsvPath): CsvNode | undefined {
    return this.each(path)[0];
  }
}

/**
 * The documents of a CSV file: the whole file, or one per run of rows sharing the `groupBy` column
 * (an invoice file with one row per line and the invoice number repeated on each).
 */
export function csvDocuments(table: CsvTable, opts: CsvOptions, file?: string): { node: SourceNode<CsvPath>; firstLine: number; lastLine: number }[] {
  const groups: CsvRow[][] = [];
  if (opts.groupBy === undefined) groups.push(table.rows);
  else {
    const col = csvPaths.value(opts.groupBy) as Extract<CsvPath, { kind: 'column' }>;
    const i = col.index ?? table.columns.indexOf(col.name as string);
    if (i < 0)
      throw new GatewayError('GW_CSV_SYNTAX', `The CSV has no column "${opts.groupBy}" (source.groupBy); its columns are ${table.columns.join(', ')}.`, {
        location: { line: 1 },
      });
    let key: string | undefined;
    for (const row of table.rows) {
      const k = (row.values[i] ?? '').trim();
      if (groups.length === 0 || k !== key) groups.push([]);
      key = k;
      (groups.at(-1) as CsvRow[]).push(row);
    }
  }
  return groups.map((rows) => ({ node: new CsvNode(table, rows, file), firstLine: rows[0]?.line ?? 1, lastLine: rows.at(-1)?.line ?? 1 }));
}
