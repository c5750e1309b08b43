import type { Problem, SourceLocation } from '../../errors.js';

/**
 * The shapes the EDIFACT reader (parse.ts) produces and the writer (write.ts) consumes.
 *
 * Glossary (ISO 9735): an *interchange* runs from UNB to UNZ (an optional UNA before it gives the
 * separators); it holds *messages* (UNH … UNT), optionally inside *groups* (UNG … UNE). A *segment*
 * is a tag and data elements; an element is simple or *composite* (components). Syntax version 4
 * adds a *repetition separator* so an element may occur several times.
 * @see docs/edifact.md
 */

/** The six service characters (UNA, or the defaults `:+.? '` and `*` as repetition from version 4). */
export interface EdifactSeparators {
  component: string;
  element: string;
  /** Decimal mark (UNA3): `.` or `,`; both are accepted in numbers whatever it says. */
  decimal: string;
  /** Release character; null when the UNA gives a space (not used). */
  release: string | null;
  /** Repetition separator (syntax version 4); null before version 4 (UNA5 is then reserved). */
  repetition: string | null;
  segment: string;
}

/** A party of UNB or UNG: id (0004/0010, 0040/0044) with its code qualifier (0007, 0042). */
export interface EdifactParty {
  id: string;
  qualifier?: string;
  /** UNB S002/S003 component 3 (syntax 4: internal identification, 0008/0014). */
  internalId?: string;
}

/**
 * One segment. `elements[e][c]` is component c+1 of element e+1 (element 1 is the first after the
 * tag), release characters resolved, text decoded with the interchange's character set.
 */
export interface EdifactSegment {
  tag: string;
  elements: string[][];
  /**
   * Syntax version 4: every occurrence of an element that was repeated (more than one occurrence),
   * by 0-based element index; `elements[e]` then holds the first occurrence.
   */
  repetitions?: Record<number, string[][]>;
  /** 1-based index of the segment in the interchange (UNB = 1; UNA is not a segment). */
  index: number;
  /**
   * Where the segment starts: `segment` (tag), `position` (1-based inside its message, UNH = 1, as
   * CONTRL UCS counts; absent for UNB/UNG/UNE/UNZ), `line`, `column` (1-based byte on the line),
   * `offset` (0-based byte in the payload), `transaction` (the message's 0062).
   */
  location: SourceLocation;
}

export interface EdifactPreparation {
  /** As sent: `YYMMDD` (syntax 1–3) or `CCYYMMDD` (syntax 4). */
  date: string;
  /** As sent: `HHMM`. */
  time: string;
}

export interface EdifactMessage {
  /** UNH 0062 message reference number. */
  ref: string;
  /** UNH S009 0065, e.g. `DESADV`. */
  type: string;
  /** 0052, e.g. `D`. */
  version: string;
  /** 0054, e.g. `96A`. */
  release: string;
  /** 0051 controlling agency, e.g. `UN`. */
  agency: string;
  /** 0057 association assigned code, e.g. `EAN008`. */
  association?: string;
  /** UNH 0068 common access reference. */
  commonAccessRef?: string;
  /** 0048 of the enclosing group, when the message is inside UNG … UNE. */
  group?: string;
  /** Segments between UNH and UNT (both excluded); their `position` starts at 2. */
  segments: EdifactSegment[];
  header: EdifactSegment;
  /** Null when the interchange ends before the UNT. */
  trailer: EdifactSegment | null;
  /** Problems that make this message unusable (UNT count or reference, bad characters …). */
  problems: Problem[];
}

export interface EdifactGroup {
  /** UNG 0048 group reference number. */
  ref: string;
  /** UNG 0038 message group identification, e.g. `ORDERS`. */
  functionalId: string;
  sender: EdifactParty;
  recipient: EdifactParty;
  preparedAt: EdifactPreparation;
  /** UNG 0051. */
  agency: string;
  /** UNG S008: 0052, 0054, 0057. */
  version: { version: string; release: string; association?: string };
  /** UNE 0060 as sent, or null when the UNE is missing. */
  declaredMessages: string | null;
  /** References (0062) of the messages read inside the group. */
  messageRefs: string[];
  header: EdifactSegment;
  trailer: EdifactSegment | null;
  problems: Problem[];
}

export interface EdifactInterchange {
  /** UNB S001: 0001 (`UNOA` … `UNOY`) and 0002 (`1` … `4`); `charset` is how the text was decoded. */
  syntax: { id: string; version: string; charset: string };
  separators: EdifactSeparators;
  /** The interchange began with a UNA. */
  una: boolean;
  sender: EdifactParty;
  recipient: EdifactParty;
  /** UNB 0020 interchange control reference (as sent). */
  controlRef: string;
  preparedAt: EdifactPreparation;
  /** UNB S005 0022 recipient's reference/password, 0026 application reference, 0032 agreement id. */
  recipientRef?: string;
  applicationRef?: string;
  agreementId?: string;
  /** UNB 0031 = `1`: the sender asks for a CONTRL. */
  ackRequested: boolean;
  /** UNB 0035 = `1`: a test interchange. */
  test: boolean;
  groups: EdifactGroup[];
  /** Every message in order, inside groups or not (a grouped one names its `group`). */
  messages: EdifactMessage[];
  /** UNZ 0036 as sent, or null when the UNZ is missing. */
  declaredCount: string | null;
  header: EdifactSegment;
  trailer: EdifactSegment | null;
  /**
   * Problems with the interchange as a whole (UNB values, UNZ count or reference, unsupported
   * syntax): when any is present the whole interchange is rejected (CONTRL UCI action 4).
   */
  problems: Problem[];
}

/** A segment to write: tag and elements (each element its components), values unescaped. */
export interface EdifactOutSegment {
  tag: string;
  elements: (string | string[])[];
}
