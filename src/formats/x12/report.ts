import type { Problem } from '../../errors.js';
import type { X12GroupHeader, X12InterchangeHeader, X12Segment } from './reader.js';

/** One functional group as the acknowledgment reports it. */
export interface GroupReport {
  header: X12GroupHeader;
  /** GE01 as sent (null when the GE is missing). */
  declaredSets: string | null;
  problems: Problem[];
  sets: { id: string; control: string; implementation?: string; problems: Problem[] }[];
}

/** One interchange as the acknowledgments report it. */
export interface InterchangeReport {
  header: X12InterchangeHeader;
  problems: Problem[];
  groups: GroupReport[];
  ta1: X12Segment[];
  /** Why the interchange was not read at all (unknown sender), when it was not. */
  refused?: Problem;
}
