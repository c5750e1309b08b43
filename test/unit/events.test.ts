import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EVENTS } from '../../src/observability/events.js';
import { REPO } from '../helpers/corpus.js';
import { type EventTypeUse, scanEventWrites } from '../helpers/event-writes.js';

/** The module that owns the events table. */
const OWNER = 'src/observability/events.ts';

/** Files that still insert into the events table themselves; each is to move to recordEvents. */
const WRITING_DIRECTLY: string[] = [];

/** What the outbox records about a delivery (src/delivery/outcome.ts writes each on the message, with the delivery). */
const DELIVERY_OUTCOME_EVENTS = [
  'delivered',
  'delivery.waiting',
  'delivery.failed',
  'delivery.dead',
  'target.paused',
  'target.resumed',
  'as2.sent',
  'as2.mdn-processed',
  'as2.mdn-mic-invalid',
  'as2.mdn-failed',
  'as2.mdn-sent',
  'sftp.host-key-mismatch',
] as const;

type Spec = { meaning: string; carries: readonly string[]; sometimes?: readonly string[]; retired?: string };

/** The row docs/events.md holds for an event, as the catalogue would write it. */
function docRow(name: string, spec: Spec): string {
  const fields = (list: readonly string[]) => list.map((f) => `\`${f}\``).join(', ');
  const meaning = spec.retired ? `${spec.meaning} No longer written: ${spec.retired}` : spec.meaning;
  return `| \`${name}\` | ${meaning} | ${fields(spec.carries)}${spec.sometimes ? ` (sometimes ${fields(spec.sometimes)})` : ''} |`;
}

function sources(): { file: string; text: string }[] {
  return (readdirSync(path.join(REPO, 'src'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.posix.join('src', f.split(path.sep).join('/')))
    .sort()
    .map((file) => ({ file, text: readFileSync(path.join(REPO, file), 'utf8') }));
}

const where = (u: EventTypeUse) => `${u.file}:${u.line}`;

describe('timeline event catalogue', () => {
  const doc = readFileSync(path.join(REPO, 'docs', 'events.md'), 'utf8');
  const rows = new Map([...doc.matchAll(/^\| `([a-z0-9.-]+)` \|.*$/gm)].map((m) => [m[1]!, m[0]]));

  it('documents every event in docs/events.md, with its meaning and fields, and nothing else', () => {
    assert.deepEqual([...rows.keys()].sort(), Object.keys(EVENTS).sort());
    for (const [name, spec] of Object.entries(EVENTS)) assert.equal(rows.get(name), docRow(name, spec), `docs/events.md, the row of ${name}`);
  });

  describe('the event types written in src/', () => {
    const scan = scanEventWrites(sources());
    const known = (name: string) => Object.hasOwn(EVENTS, name);

    it('are all in the catalogue', () => {
      const named = scan.uses.filter((u) => 'name' in u);
      assert.deepEqual(
        named.filter((u) => !known(u.name)).map((u) => `${where(u)}: ${u.name}`),
        [],
        'event types written but not declared in src/observability/events.ts',
      );
      const patterns = scan.uses.filter((u) => 'pattern' in u);
      assert.deepEqual(
        patterns.filter((u) => !Object.keys(EVENTS).some((n) => u.pattern.test(n))).map((u) => `${where(u)}: ${u.text}`),
        [],
        'templates that can make no declared event type',
      );
    });

    it('can all be read from the source (literals, conditionals, constants, arguments)', () => {
      assert.deepEqual(
        scan.uses.filter((u) => 'unresolved' in u).map((u) => `${where(u)}: ${u.unresolved}`),
        [],
        'write the event type as a literal (or a conditional of literals) so this test can hold it against the catalogue',
      );
    });

    it('cover the catalogue: every current type is written somewhere, and no retired one', () => {
      const written = (name: string) => scan.uses.some((u) => ('name' in u && u.name === name) || ('pattern' in u && u.pattern.test(name)));
      const retired = (name: string) => 'retired' in EVENTS[name as keyof typeof EVENTS];
      const names = Object.keys(EVENTS);
      assert.deepEqual(
        names.filter((n) => !retired(n) && !written(n)),
        [],
        'declared but written nowhere',
      );
      const literally = (name: string) => scan.uses.some((u) => 'name' in u && u.name === name);
      assert.deepEqual(
        names.filter((n) => retired(n) && literally(n)),
        [],
        'retired but written again',
      );
    });

    it('reach the table through recordEvents, except in the files still listed as writing it directly', () => {
      assert.deepEqual([...scan.directWriters].sort(), [OWNER, ...WRITING_DIRECTLY].sort());
    });

    it('of a delivery outcome carry the message and the delivery, as the outbox writes them', () => {
      const fields = (name: string) => {
        const spec = EVENTS[name as keyof typeof EVENTS] as { carries: readonly string[]; sometimes?: readonly string[] };
        return [...spec.carries, ...(spec.sometimes ?? [])];
      };
      assert.deepEqual(
        DELIVERY_OUTCOME_EVENTS.filter((n) => !['message_id', 'delivery_id'].every((f) => fields(n).includes(f))),
        [],
        'these may be written by src/delivery/outcome.ts, which sets message_id and delivery_id',
      );
    });
  });
});

describe('the event-type scan', () => {
  const scan = (text: string) => scanEventWrites([{ file: 'x.ts', text }]);
  const names = (text: string) => scan(text).uses.map((u) => ('name' in u ? u.name : 'pattern' in u ? `/${u.pattern.source}/` : `?${u.unresolved}`));

  it('reads the types of inserted rows and of recordEvents, wherever the row is built', () => {
    assert.deepEqual(names(`await trx('events').insert({ message_id: id, type: 'made.up' });`), ['made.up']);
    assert.deepEqual(names(`await this.d.knex('events').insert([{ type: ok ? 'a.one' : 'a.two', detail }]);`), ['a.one', 'a.two']);
    assert.deepEqual(names(`await recordEvents(trx, rows.map((r) => ({ message_id: r.id, type: 'from.map', detail: '' })));`), ['from.map']);
    assert.deepEqual(names(`events.push({ type: 'pushed', detail: '' }); await trx('events').insert(events);`), ['pushed']);
    assert.deepEqual(names(`const row = () => ({ type: 'built', detail: '' }); await recordEvents(trx, [row()]);`), ['built']);
    assert.deepEqual(names(`const notes = failed ? [{ type: 'a.note', code, detail }] : []; return { status, notes };`), ['a.note']);
    assert.deepEqual(names(`await trx('events').insert(notes.map((n) => ({ message_id, type: n.type, detail: n.detail })));`), [], 'a copy');
    assert.deepEqual(names(`await knex.insert({ type: 'into.form', detail: '' }).into('events');`), ['into.form']);
  });

  it('follows constants and parameters to their values, keeps templates as patterns, and reports what it cannot read', () => {
    assert.deepEqual(names(`const KIND = 'from.const'; await recordEvents(trx, [{ type: KIND, detail: '' }]);`), ['from.const']);
    assert.deepEqual(
      names(`class A {
        async note(type: string) { await this.knex('events').insert({ type, detail: '' }); }
        run() { this.note('p.one'); this.note(b ? 'p.two' : 'p.three'); }
      }`),
      ['p.one', 'p.two', 'p.three'],
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the source text of a template literal, for the scan to read
    assert.deepEqual(names('recordEvents(trx, [{ type: `as2.mdn-${status}`, detail }]);'), ['/^as2\\.mdn-.+$/']);
    assert.deepEqual(names(`recordEvents(trx, [{ type: row.kind, detail }]);`), ['?row.kind']);
  });

  it('tells which files write the table themselves', () => {
    assert.deepEqual([...scan(`await trx('events').where('id', 1).del();`).directWriters], ['x.ts']);
    assert.deepEqual([...scan('await knex.raw(`INSERT INTO events (type) VALUES (?)`, [t]);').directWriters], ['x.ts']);
    assert.deepEqual([...scan('await copyRows(trx, `COPY events (type) FROM STDIN`, rows);').directWriters], ['x.ts']);
    assert.deepEqual([...scan(`await knex('events').select('type').where('message_id', id);`).directWriters], []);
    assert.deepEqual([...scan(`await recordEvents(trx, [{ type: 'a.b', detail: '' }]);`).directWriters], []);
  });
});
