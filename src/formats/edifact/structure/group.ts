/**
 * Segment-group structure of an EDIFACT message: the segment table of a UN/EDIFACT message
 * directory, in its order, with each segment's and group's status (M mandatory, C conditional) and
 * maximum repetitions. The mapping reads which segment opens which group (SG1, SG10 …) and which
 * segments and groups each group holds; the structure check (../structure-check.ts) reads the order,
 * status and repetitions.
 */

/** A segment of a group (or of the message) in the segment table. */
export interface SegmentDef {
  kind: 'segment';
  tag: string;
  mandatory: boolean;
  max: number;
}

export interface GroupDef {
  kind: 'group';
  /** `SG15`; the message level is `message`. */
  name: string;
  /** The tag that opens each repetition of the group (its first segment); none for the message. */
  trigger?: string;
  mandatory: boolean;
  /** Maximum repetitions of the group (1 for the message). */
  max: number;
  /** The group's segment table in order: its trigger first, then its segments and groups. */
  entries: readonly (SegmentDef | GroupDef)[];
  /** Tags the group holds besides its trigger, outside its own groups. */
  segments: readonly string[];
  groups: readonly GroupDef[];
}

export interface MessageStructure {
  /** `DESADV`, `INVOIC` … with directory version and release, `D` and `96A`. */
  type: string;
  version: string;
  release: string;
  root: GroupDef;
}

function groupOf(name: string, mandatory: boolean, max: number, entries: (SegmentDef | GroupDef)[]): GroupDef {
  const first = entries[0];
  const trigger = name === 'message' ? undefined : first?.kind === 'segment' ? first.tag : undefined;
  if (name !== 'message' && !trigger) throw new Error(`segment table: ${name} does not open with a segment`);
  const segments = entries.flatMap((e, i) => (e.kind === 'segment' && !(trigger && i === 0) ? [e.tag] : []));
  const groups = entries.filter((e): e is GroupDef => e.kind === 'group');
  return { kind: 'group', name, ...(trigger ? { trigger } : {}), mandatory, max, entries, segments, groups };
}

const ENTRY = /^(?:(SG\d{1,2})|([A-Z][A-Z0-9]{2}))$/;
const STATUS = /^([MC])(\d+)$/;

/**
 * A message's segment table from its text, in the directory's order, UNH and UNT left out:
 * `BGM M1 DTM C10 SG1 C10 ( RFF M1 DTM C1 ) … CNT C5`: each segment or group with status and
 * maximum repetitions; a group's contents in parentheses, its opening segment first.
 */
export function message(type: string, release: string, table: string): MessageStructure {
  const tokens = table.split(/\s+/).filter(Boolean);
  let at = 0;
  const read = (name: string, mandatory: boolean, max: number): GroupDef => {
    const entries: (SegmentDef | GroupDef)[] = [];
    while (at < tokens.length && tokens[at] !== ')') {
      const id = tokens[at++] as string;
      const status = STATUS.exec(tokens[at++] ?? '');
      const kind = ENTRY.exec(id);
      if (!kind || !status) throw new Error(`segment table of ${type} ${release}: "${id} ${tokens[at - 1]}" is not "TAG M1" or "SG1 C10 ( … )"`);
      const [, state, repeat] = status;
      if (kind[2]) {
        entries.push({ kind: 'segment', tag: id, mandatory: state === 'M', max: Number(repeat) });
        continue;
      }
      if (tokens[at++] !== '(') throw new Error(`segment table of ${type} ${release}: ${id} needs its contents in parentheses`);
      entries.push(read(id, state === 'M', Number(repeat)));
      if (tokens[at++] !== ')') throw new Error(`segment table of ${type} ${release}: ${id} is not closed`);
    }
    return groupOf(name, mandatory, max, entries);
  };
  const root = read('message', true, 1);
  if (at !== tokens.length) throw new Error(`segment table of ${type} ${release}: an unmatched ")"`);
  return { type, version: 'D', release, root };
}

/** Every group of a structure, depth first, with its parent. */
export function allGroups(structure: MessageStructure): { def: GroupDef; parent: GroupDef }[] {
  const out: { def: GroupDef; parent: GroupDef }[] = [];
  const walk = (parent: GroupDef) => {
    for (const def of parent.groups) {
      out.push({ def, parent });
      walk(def);
    }
  };
  walk(structure.root);
  return out;
}
