/**
 * Segment-group structure of an EDIFACT message (the branching diagram of a UN/EDIFACT message
 * directory): which segments stand at the message level, which segment opens which group (SG1,
 * SG10 …), and which segments and groups each group holds. Only the tags are kept: enough to know
 * where a segment belongs, so mapping paths can address a group (`SG15`, `SG2[SU]`).
 */
export interface GroupDef {
  /** `SG15`; the message level is `message`. */
  name: string;
  /** The tag that opens each repetition of the group (its first segment); none for the message. */
  trigger?: string;
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

/** A group: `group(15, 'LIN', ['PIA', 'IMD', 'QTY'], [group(16, 'RFF', ['DTM'])])`. */
export function group(n: number, trigger: string, segments: string[] = [], groups: GroupDef[] = []): GroupDef {
  return { name: `SG${n}`, trigger, segments, groups };
}

export function message(type: string, release: string, segments: string[], groups: GroupDef[]): MessageStructure {
  return { type, version: 'D', release, root: { name: 'message', segments, groups } };
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
