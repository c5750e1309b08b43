import { GatewayError } from '../errors.js';
import type { CsvDialect, CsvRow, CsvTable } from '../formats/csv/parse.js';
import type { PathCompiler, SourceNode, SourceValue } from './source.js';

/** How a CSV source is read, as a profile's `source` states it. */
export interface CsvOptions extends CsvDialect {
  /** One document per run of consecutive rows with the same value in this column. */
  groupBy?: string;
}

/**
 * A column by header name, or `#3` for the third column (1-based). `rows` selects the rows of the
 * scope; `rows by PO` one scope per value of that column (its rows, in first-seen order).
 */
export type CsvPath = { kind: 'column'; name?: string; index?: number } | { kind: 'rows'; by?: Extract<CsvPath, { kind: 'column' }> };

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
    const p = path.trim();
    if (p === 'rows') return { kind: 'rows' };
    const by = /^rows by (.+)$/.exec(p)?.[1];
    if (by === undefined) throw new Error(`"${path}" is not a CSV selector; CSV profiles iterate with each: rows, or each: rows by <column>`);
    return { kind: 'rows', by: csvPaths.value(by) as Extract<CsvPath, { kind: 'column' }> };
  },
};

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
    if (!path.by) return this.rows.map((r) => new CsvNode(this.table, [r], this.file));
    const i = this.index(path.by);
    const groups = new Map<string, CsvRow[]>();
    for (const row of this.rows) {
      const key = i < 0 ? '' : (row.values[i]?.trim() ?? '');
      groups.get(key)?.push(row) ?? groups.set(key, [row]);
    }
    return [...groups.values()].map((rows) => new CsvNode(this.table, rows, this.file));
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
