import type { ErrorCode, Problem, SourceLocation } from '../../errors.js';
import { type DecodeContext, decodeSegment, segmentValue } from './segments.js';
import type { RawSegment } from './reader.js';
import type { EdifactGroup, EdifactInterchange, EdifactMessage, EdifactParty, EdifactSegment } from './types.js';

/**
 * Walks the segments of one interchange through its envelopes (UNB … UNZ, UNG … UNE, UNH … UNT),
 * checking counts and references. Problems with a message stay on it so the others can still be
 * used; problems with the interchange as a whole are on the interchange.
 */

function problem(code: ErrorCode, error: string, message: string, location: SourceLocation): Problem {
  return { code, message, location, edifact: { error } };
}

const party = (seg: EdifactSegment, element: number): EdifactParty => {
  const [id = '', qualifier, internalId] = seg.elements[element - 1] ?? [];
  return { id, ...(qualifier ? { qualifier } : {}), ...(internalId ? { internalId } : {}) };
};

const optional = (v: string) => (v ? v : undefined);

/** The interchange header as read from the UNB; problems with it go on the interchange. */
export function interchangeFrom(unb: EdifactSegment, ctx: DecodeContext, una: boolean, charset: string): EdifactInterchange {
  const ic: EdifactInterchange = {
    syntax: { id: segmentValue(unb, 1, 1), version: segmentValue(unb, 1, 2), charset },
    separators: ctx.tokens.separators,
    una,
    sender: party(unb, 2),
    recipient: party(unb, 3),
    controlRef: segmentValue(unb, 5),
    preparedAt: { date: segmentValue(unb, 4, 1), time: segmentValue(unb, 4, 2) },
    ackRequested: segmentValue(unb, 9) === '1',
    test: segmentValue(unb, 11) === '1',
    groups: [],
    messages: [],
    declaredCount: null,
    header: unb,
    trailer: null,
    problems: [],
  };
  const extras = { recipientRef: optional(segmentValue(unb, 6)), applicationRef: optional(segmentValue(unb, 7)), agreementId: optional(segmentValue(unb, 10)) };
  for (const [k, v] of Object.entries(extras)) if (v) Object.assign(ic, { [k]: v });
  return ic;
}

/** Mandatory UNB values. 0031 and 0035 other than `1` mean no (senders write `0`, `2`, letters). */
export function checkUnb(ic: EdifactInterchange): Problem[] {
  const unb = ic.header;
  const out: Problem[] = [];
  const at = (element: number, component = 1): SourceLocation => ({ ...unb.location, element, ...(component > 1 ? { component } : {}) });
  const required: [number, number, string][] = [
    [2, 1, 'interchange sender (S002 0004)'],
    [3, 1, 'interchange recipient (S003 0010)'],
    [4, 1, 'date of preparation (S004 0017)'],
    [4, 2, 'time of preparation (S004 0019)'],
    [5, 1, 'interchange control reference (0020)'],
  ];
  for (const [e, c, name] of required) if (!segmentValue(unb, e, c)) out.push(problem('GW_EDIFACT_ENVELOPE', '13', `The UNB lacks the ${name}.`, at(e, c)));
  if (!/^[1-4]$/.test(ic.syntax.version))
    out.push(problem('GW_EDIFACT_ENVELOPE', '2', `UNB syntax version "${ic.syntax.version}" is not 1, 2, 3 or 4.`, at(1, 2)));
  return out;
}

const sameCount = (declared: string, actual: number) => /^\d+$/.test(declared) && Number(declared) === actual;

/** What the walk has completed: a group begun, a message read (UNH … UNT or abandoned), a group ended. */
export type EnvelopeEvent =
  | { kind: 'group'; group: EdifactGroup }
  /** `sound`: neither the interchange nor the message's group had a problem when the message ended. */
  | { kind: 'message'; message: EdifactMessage; sound: boolean }
  | { kind: 'group-end'; group: EdifactGroup };

/**
 * Walks the segments of one interchange. Messages are not kept on the interchange: each is handed
 * out once complete (`take`), so the walk holds only the message being read.
 */
export class EnvelopeWalk {
  private group: EdifactGroup | undefined;
  private message: EdifactMessage | undefined;
  private position = 0;
  private readonly refs = new Set<string>();
  private done = false;
  private events: EnvelopeEvent[] = [];
  /** Messages read, and those of them inside groups (to tell groups and messages mixed). */
  private messages = 0;
  private grouped = 0;
  /** Where the input ends if it ends now: the last data segment of the last message, or the UNB. */
  private lastAt: SourceLocation;

  constructor(
    private readonly ic: EdifactInterchange,
    private readonly ctx: DecodeContext,
  ) {
    this.lastAt = ic.header.location;
  }

  /** The events completed since the last call. */
  take(): EnvelopeEvent[] {
    const out = this.events;
    this.events = [];
    return out;
  }

  /** Reads the segment at 1-based interchange index `index` (UNB = 1). Returns false once nothing more is read. */
  next(raw: RawSegment, index: number): boolean {
    if (this.done) return false;
    const target = this.message && !['UNH', 'UNG', 'UNE', 'UNZ', 'UNB'].includes(raw.tag) ? this.message.problems : this.ic.problems;
    const before = target.length;
    const seg = decodeSegment(this.ctx, raw, index, target);
    switch (seg.tag) {
      case 'UNH':
        this.openMessage(seg);
        break;
      case 'UNT':
        this.closeMessage(seg);
        break;
      case 'UNG':
        this.openGroup(seg);
        break;
      case 'UNE':
        this.closeGroup(seg);
        break;
      case 'UNZ':
        this.closeInterchange(seg);
        break;
      default:
        this.body(seg);
    }
    // Character problems were found before the segment knew its place in the message.
    const { position, transaction } = seg.location;
    if (position) for (const p of target.slice(before)) Object.assign(p.location ?? {}, { position, transaction });
    return !this.done;
  }

  /** Whether the interchange and the open group are without problems so far. */
  private sound(): boolean {
    return this.ic.problems.length === 0 && !this.group?.problems.length;
  }

  /** The input ended: report what is still open. */
  end(): void {
    if (this.done) return;
    const lastLocation = this.lastAt;
    this.abandonMessage(lastLocation);
    this.abandonGroup(lastLocation);
    this.ic.problems.push(
      problem('GW_EDIFACT_ENVELOPE', '13', `The input ends inside interchange ${this.ic.controlRef} (no UNZ): the file is truncated.`, {
        ...lastLocation,
        segment: 'UNZ',
      }),
    );
  }

  private body(seg: EdifactSegment): void {
    if (!this.message) {
      this.ic.problems.push(problem('GW_EDIFACT_SYNTAX', '33', `Segment ${seg.tag} lies outside a message (UNH … UNT).`, seg.location));
      return;
    }
    this.position++;
    Object.assign(seg.location, { position: this.position, transaction: this.message.ref });
    this.message.segments.push(seg);
    this.lastAt = seg.location;
  }

  private openMessage(seg: EdifactSegment): void {
    this.abandonMessage(seg.location);
    if (!this.group && this.ic.groups.length > 0)
      this.ic.problems.push(problem('GW_EDIFACT_SYNTAX', '30', 'A message outside a group follows groups: groups and messages are mixed.', seg.location));
    const ref = segmentValue(seg, 1);
    const [type = '', version = '', release = '', agency = '', association] = seg.elements[1] ?? [];
    this.position = 1;
    Object.assign(seg.location, { position: 1, transaction: ref });
    const message: EdifactMessage = { ref, type, version, release, agency, segments: [], header: seg, trailer: null, problems: [] };
    if (association) message.association = association;
    const access = segmentValue(seg, 3);
    if (access) message.commonAccessRef = access;
    if (this.group) {
      message.group = this.group.ref;
      this.group.messageRefs.push(ref);
      this.grouped++;
    }
    this.messages++;
    this.lastAt = this.ic.header.location;
    const missing = [ref ? '' : 'message reference (0062)', type ? '' : 'message type (0065)', version ? '' : 'version (0052)'];
    for (const m of missing.filter(Boolean))
      message.problems.push(problem('GW_EDIFACT_ENVELOPE', '13', `The UNH lacks the ${m}.`, { ...seg.location, element: m.startsWith('message ref') ? 1 : 2 }));
    if (ref && this.refs.has(ref))
      message.problems.push(
        problem('GW_EDIFACT_MESSAGE_TRAILER', '26', `Message reference ${ref} repeats within interchange ${this.ic.controlRef}.`, {
          ...seg.location,
          element: 1,
        }),
      );
    this.refs.add(ref);
    this.message = message;
  }

  private closeMessage(seg: EdifactSegment): void {
    const m = this.message;
    if (!m) {
      this.ic.problems.push(problem('GW_EDIFACT_SYNTAX', '33', 'A UNT without its UNH.', seg.location));
      return;
    }
    this.position++;
    Object.assign(seg.location, { position: this.position, transaction: m.ref });
    m.trailer = seg;
    const count = segmentValue(seg, 1);
    if (!sameCount(count, this.position))
      m.problems.push(
        problem(
          'GW_EDIFACT_MESSAGE_TRAILER',
          '29',
          `UNT 0074 of message ${m.ref} says ${count || 'nothing'}, but the message has ${this.position} segments (UNH … UNT).`,
          { ...seg.location, element: 1 },
        ),
      );
    const ref = segmentValue(seg, 2);
    if (ref !== m.ref)
      m.problems.push(problem('GW_EDIFACT_MESSAGE_TRAILER', '28', `UNT 0062 "${ref}" does not match UNH 0062 "${m.ref}".`, { ...seg.location, element: 2 }));
    this.events.push({ kind: 'message', message: m, sound: this.sound() });
    this.message = undefined;
  }

  private abandonMessage(at: SourceLocation): void {
    const m = this.message;
    if (!m) return;
    m.problems.push(problem('GW_EDIFACT_MESSAGE_TRAILER', '13', `Message ${m.ref} has no UNT.`, { ...at, transaction: m.ref }));
    this.events.push({ kind: 'message', message: m, sound: this.sound() });
    this.message = undefined;
  }

  private openGroup(seg: EdifactSegment): void {
    this.abandonMessage(seg.location);
    this.abandonGroup(seg.location);
    if (this.messages > this.grouped)
      this.ic.problems.push(problem('GW_EDIFACT_SYNTAX', '30', 'A group (UNG) follows messages outside groups: groups and messages are mixed.', seg.location));
    const [version = '', release = '', association] = seg.elements[6] ?? [];
    const group: EdifactGroup = {
      ref: segmentValue(seg, 5),
      functionalId: segmentValue(seg, 1),
      sender: party(seg, 2),
      recipient: party(seg, 3),
      preparedAt: { date: segmentValue(seg, 4, 1), time: segmentValue(seg, 4, 2) },
      agency: segmentValue(seg, 6),
      version: { version, release, ...(association ? { association } : {}) },
      declaredMessages: null,
      messageRefs: [],
      header: seg,
      trailer: null,
      problems: [],
    };
    if (!group.ref) group.problems.push(problem('GW_EDIFACT_GROUP', '13', 'The UNG lacks its group reference (0048).', { ...seg.location, element: 5 }));
    this.group = group;
    this.ic.groups.push(group);
    this.events.push({ kind: 'group', group });
  }

  private closeGroup(seg: EdifactSegment): void {
    this.abandonMessage(seg.location);
    const g = this.group;
    if (!g) {
      this.ic.problems.push(problem('GW_EDIFACT_SYNTAX', '33', 'A UNE without its UNG.', seg.location));
      return;
    }
    g.trailer = seg;
    g.declaredMessages = segmentValue(seg, 1);
    if (!sameCount(g.declaredMessages, g.messageRefs.length))
      g.problems.push(
        problem('GW_EDIFACT_GROUP', '29', `UNE 0060 says ${g.declaredMessages || 'nothing'}, but group ${g.ref} holds ${g.messageRefs.length} messages.`, {
          ...seg.location,
          element: 1,
        }),
      );
    const ref = segmentValue(seg, 2);
    if (ref !== g.ref)
      g.problems.push(problem('GW_EDIFACT_GROUP', '28', `UNE 0048 "${ref}" does not match UNG 0048 "${g.ref}".`, { ...seg.location, element: 2 }));
    this.events.push({ kind: 'group-end', group: g });
    this.group = undefined;
  }

  private abandonGroup(at: SourceLocation): void {
    const g = this.group;
    if (!g) return;
    g.problems.push(problem('GW_EDIFACT_GROUP', '13', `Group ${g.ref} has no UNE.`, at));
    this.events.push({ kind: 'group-end', group: g });
    this.group = undefined;
  }

  private closeInterchange(seg: EdifactSegment): void {
    this.abandonMessage(seg.location);
    this.abandonGroup(seg.location);
    const ic = this.ic;
    ic.trailer = seg;
    ic.declaredCount = segmentValue(seg, 1);
    const counted = ic.groups.length > 0 ? ic.groups.length : this.messages;
    const what = ic.groups.length > 0 ? 'groups' : 'messages';
    if (!sameCount(ic.declaredCount, counted))
      ic.problems.push(
        problem('GW_EDIFACT_ENVELOPE', '29', `UNZ 0036 says ${ic.declaredCount || 'nothing'}, but the interchange holds ${counted} ${what}.`, {
          ...seg.location,
          element: 1,
        }),
      );
    const ref = segmentValue(seg, 2);
    if (ref !== ic.controlRef)
      ic.problems.push(problem('GW_EDIFACT_ENVELOPE', '28', `UNZ 0020 "${ref}" does not match UNB 0020 "${ic.controlRef}".`, { ...seg.location, element: 2 }));
    this.done = true;
  }
}
