import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Every .ts file under `dir` (relative to the repository), with its text. */
function sources(dir: string): { file: string; text: string }[] {
  return readdirSync(path.join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f.split(path.sep).join('/')}`)
    .map((file) => ({ file, text: readFileSync(path.join(REPO, file), 'utf8') }));
}

/**
 * The tables each file writes: a knex builder on the table (`trx('messages')`, `knex('deliveries as d')`)
 * whose statement (up to its `;`) inserts, updates or deletes, and raw SQL that does (COPY … FROM included).
 */
function tableWrites(files: { file: string; text: string }[], tables: ReadonlySet<string>): Map<string, Set<string>> {
  const writers = new Map<string, Set<string>>();
  const add = (table: string, file: string) => tables.has(table) && writers.set(table, (writers.get(table) ?? new Set()).add(file));
  for (const { file, text } of files) {
    for (const m of text.matchAll(/\(\s*'([a-z_0-9]+)(?: as \w+)?'\s*\)/g)) {
      const end = text.indexOf(';', m.index);
      if (/\.(insert|update|del|delete|increment|decrement|truncate)\(/.test(text.slice(m.index, end === -1 ? undefined : end))) add(m[1]!, file);
    }
    for (const m of text.matchAll(/\b(?:INSERT INTO|UPDATE|DELETE FROM|COPY)\s+([a-z_0-9]+)/g)) add(m[1]!, file);
    for (const m of text.matchAll(/\bcopyRow\(\s*\w+,\s*'([a-z_0-9]+)'/g)) add(m[1]!, file);
  }
  return writers;
}

/** The "Who writes which table" section of docs/architecture.md: table → the files named as its writers. */
function documentedOwners(): Map<string, Set<string>> {
  const page = readFileSync(path.join(REPO, 'docs/architecture.md'), 'utf8');
  const section = page.slice(page.indexOf('## Who writes which table'), page.indexOf('\n## ', page.indexOf('## Who writes which table') + 1));
  const owners = new Map<string, Set<string>>();
  for (const line of section.split('\n').filter((l) => /^\| `/.test(l))) {
    const [tables, writers] = line.split('|').slice(1, 3) as [string, string];
    const files = new Set([...writers.matchAll(/`(src\/[^`]+)`/g)].map((m) => m[1]!));
    for (const t of tables.matchAll(/`([a-z_0-9]+)`/g)) owners.set(t[1]!, files);
  }
  return owners;
}

const migratedTables = new Set(sources('migrations').flatMap(({ text }) => [...text.matchAll(/createTable\('([a-z_0-9]+)'/g)].map((m) => m[1]!)));

describe('each table has one owner (docs/architecture.md, "Who writes which table")', () => {
  const owners = documentedOwners();

  it('lists every table the migrations create', () => {
    assert.deepEqual(
      [...migratedTables].filter((t) => !owners.has(t)),
      [],
    );
    assert.deepEqual(
      [...owners.keys()].filter((t) => !migratedTables.has(t)),
      [],
      'documented tables that no migration creates',
    );
  });

  it('names exactly the files that write each table', () => {
    const writes = tableWrites(sources('src'), migratedTables);
    const actual = Object.fromEntries([...migratedTables].sort().map((t) => [t, [...(writes.get(t) ?? [])].sort()]));
    const documented = Object.fromEntries([...migratedTables].sort().map((t) => [t, [...(owners.get(t) ?? [])].sort()]));
    assert.deepEqual(actual, documented);
  });

  it('sees writes however they are spelled (the scan itself)', () => {
    const tables = new Set(['messages', 'deliveries', 'events']);
    const scan = (text: string) => Object.fromEntries([...tableWrites([{ file: 'x.ts', text }], tables)].map(([t, f]) => [t, [...f]]));
    assert.deepEqual(scan(`await trx('messages')\n  .where('id', id)\n  .update({ state });`), { messages: ['x.ts'] });
    assert.deepEqual(scan(`await knex('deliveries as d').where({}).del();`), { deliveries: ['x.ts'] });
    assert.deepEqual(scan('await trx.raw(`UPDATE messages SET state = 1`);'), { messages: ['x.ts'] });
    assert.deepEqual(scan('await copyRows(trx, `COPY events (type, detail) FROM STDIN`, rows);'), { events: ['x.ts'] });
    assert.deepEqual(scan(`await copyRow(trx, 'events', ['type'], [{ bytes }]);`), { events: ['x.ts'] });
    assert.deepEqual(scan(`const rows = await knex('events').select('type').where({ id });`), {}, 'a read is not a write');
  });
});
