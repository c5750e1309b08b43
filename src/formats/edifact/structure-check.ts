import type { Problem, SourceLocation } from '../../errors.js';
import { checkMessageElements, segmentLocation } from './element-check.js';
import { allGroups, type GroupDef, type MessageStructure, type SegmentDef, structureOf } from './structure/index.js';
import type { EdifactMessage, EdifactSegment } from './types.js';

/**
 * Checks the segments of one message against the segment table of its type, version and release
 * (./structure/): order, mandatory segments and groups, repetitions. Each problem carries the ISO
 * 9735 syntax error (0085) the CONTRL's UCS reports: 15 not supported in this position (a segment
 * out of place, or one the message does not have), 13 missing, 35 too many segment repetitions, 36
 * too many segment group repetitions. A message without a table is not checked. Pure.
 * @see ISO 9735-1 annex B (0085), UN/EDIFACT CONTRL (UCS 0096: a missing segment is reported at the
 * last segment read before the place it was expected)
 */

/** More problems than this in one message are not reported: the first ones say what is wrong. */
export const MAX_STRUCTURE_PROBLEMS = 20;

/** An open level: the message or a group repetition, where its reading stands in its segment table. */
interface Level {
  def: GroupDef;
  /** Entry last matched (-1: none yet) and how many times in a row. */
  index: number;
  count: number;
}

type Entry = SegmentDef | GroupDef;

const opens = (e: Entry, tag: string) => (e.kind === 'segment' ? e.tag === tag : e.trigger === tag);
const label = (e: Entry) => (e.kind === 'segment' ? e.tag : `segment group ${e.name.slice(2)} (${e.trigger})`);
const where = (def: GroupDef) => (def.name === 'message' ? 'the message' : `segment group ${def.name.slice(2)}`);

const KNOWN = new WeakMap<MessageStructure, Set<string>>();

/** Every tag of a structure (computed once per structure). */
function knownTags(structure: MessageStructure): Set<string> {
  let known = KNOWN.get(structure);
  if (!known) {
    known = new Set([...structure.root.segments, ...allGroups(structure).flatMap((g) => [g.def.trigger as string, ...g.def.segments])]);
    KNOWN.set(structure, known);
  }
  return known;
}

class StructureCheck {
  readonly problems: Problem[] = [];
  private readonly stack: Level[];
  private readonly known: Set<string>;
  /** The segment read last (UNH at first): a missing segment is reported there. */
  private last: EdifactSegment;

  constructor(
    private readonly structure: MessageStructure,
    private readonly m: EdifactMessage,
  ) {
    this.stack = [{ def: structure.root, index: -1, count: 0 }];
    this.known = knownTags(structure);
    this.last = m.header;
  }

  private get name(): string {
    return `${this.structure.type} ${this.structure.version}.${this.structure.release}`;
  }

  private at(seg: EdifactSegment): SourceLocation {
    return segmentLocation(seg, this.m.ref);
  }

  private report(p: Problem): void {
    if (this.problems.length < MAX_STRUCTURE_PROBLEMS) this.problems.push(p);
  }

  private place(seg: EdifactSegment): string {
    const l = seg.location;
    return `position ${l.position}${l.line ? `, line ${l.line}` : ''}`;
  }

  /** Mandatory entries of a level from `from` to before `to` that were never read. */
  private missing(level: Level, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const e = level.def.entries[i] as Entry;
      if (!e.mandatory) continue;
      this.report({
        code: 'GW_EDIFACT_SEGMENT_MISSING',
        message:
          `${this.name} message ${this.m.ref}: mandatory ${label(e)} of ${where(level.def)} is missing ` + `after ${this.last.tag} (${this.place(this.last)}).`,
        location: this.at(this.last),
        edifact: { error: '13' },
      });
    }
  }

  /** Closes the levels above `depth`: what they still lacked is missing. */
  private close(depth: number): void {
    while (this.stack.length > depth + 1) {
      const level = this.stack.pop() as Level;
      this.missing(level, level.index + 1, level.def.entries.length);
    }
  }

  read(seg: EdifactSegment): void {
    let full: { entry: Entry; level: Level } | undefined;
    for (let depth = this.stack.length - 1; depth >= 0; depth--) {
      const level = this.stack[depth] as Level;
      const entries = level.def.entries;
      // A group's opening segment read again opens its next repetition: the enclosing level decides.
      for (let i = Math.max(level.index, level.def.trigger ? 1 : 0); i < entries.length; i++) {
        const entry = entries[i] as Entry;
        if (!opens(entry, seg.tag)) continue;
        const count = i === level.index ? level.count : 0;
        // Full here: a later entry (or an enclosing group) may still take it.
        if (count >= entry.max) {
          full ??= { entry, level };
          continue;
        }
        this.close(depth);
        this.missing(level, level.index + 1, i);
        level.index = i;
        level.count = count + 1;
        if (entry.kind === 'group') this.stack.push({ def: entry, index: 0, count: 1 });
        this.last = seg;
        return;
      }
    }
    this.last = seg;
    if (full) {
      const group = full.entry.kind === 'group';
      this.report({
        code: 'GW_EDIFACT_SEGMENT_REPEATED',
        message:
          `${this.name} message ${this.m.ref}: ${seg.tag} at ${this.place(seg)} repeats ${label(full.entry)} more than the ${full.entry.max} ` +
          `time(s) ${where(full.level.def)} allows.`,
        location: this.at(seg),
        edifact: { error: group ? '36' : '35' },
      });
      return;
    }
    const why = this.known.has(seg.tag)
      ? `is not allowed in this position (after ${this.describeReading()})`
      : `is not a segment of ${this.structure.type} ${this.structure.version}.${this.structure.release}`;
    this.report({
      code: 'GW_EDIFACT_SEGMENT_POSITION',
      message: `${this.name} message ${this.m.ref}: ${seg.tag} at ${this.place(seg)} ${why}.`,
      location: this.at(seg),
      edifact: { error: '15' },
    });
  }

  /** Where the reading stands: `LIN in segment group 15`. */
  private describeReading(): string {
    const top = this.stack[this.stack.length - 1] as Level;
    const entry = top.def.entries[top.index];
    return entry ? `${label(entry)} in ${where(top.def)}` : 'UNH';
  }

  end(): void {
    this.close(0);
    const root = this.stack[0] as Level;
    this.missing(root, root.index + 1, root.def.entries.length);
  }
}

/**
 * The structure problems of a message, then those of its data elements (./element-check.ts): empty
 * when it has no segment table, or no UNT (a truncated message is reported as such by the reader).
 */
export function checkMessageStructure(m: EdifactMessage): Problem[] {
  const structure = structureOf(m.type, m.version, m.release);
  if (!structure || !m.trailer) return [];
  const check = new StructureCheck(structure, m);
  for (const seg of m.segments) check.read(seg);
  check.end();
  return [...check.problems, ...checkMessageElements(m)];
}
