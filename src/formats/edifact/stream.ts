import type { Problem } from '../../errors.js';
import { charsetOf } from './charset.js';
import { checkUnb, EnvelopeWalk, interchangeFrom } from './envelope.js';
import { EdifactSyntaxStop, type RawSegment, type ReadSegment, SegmentReader, type Tokenized } from './reader.js';
import { type DecodeContext, decodeSegment } from './segments.js';
import type { EdifactGroup, EdifactInterchange, EdifactMessage } from './types.js';

/**
 * A push-based EDIFACT reader: bytes go in chunk by chunk (a chunk may end anywhere), envelope
 * events come out as soon as they are complete. It holds at most one unfinished segment plus the
 * message being read, so an interchange of any size is read in bounded memory. Offsets, lines and
 * columns are of the whole payload. Pure: no I/O.
 * @see docs/decisions/0047-edifact-streaming.md
 */

/**
 * The interchange of an event is one object for all its events: its `problems`, `groups` and
 * `trailer` fill in as it is read and are complete at `interchange-end`. Its `messages` stay empty:
 * each message comes once, in its own event.
 */
export type EdifactEvent =
  /** `sound`: the UNB read without problems. */
  | { kind: 'interchange'; interchange: EdifactInterchange; sound: boolean }
  | { kind: 'group'; group: EdifactGroup; interchange: EdifactInterchange }
  /**
   * `sound`: neither the interchange nor the message's group had a problem when the message ended
   * (the interchange object may have more by the time the event is handled).
   */
  | { kind: 'message'; message: EdifactMessage; interchange: EdifactInterchange; sound: boolean }
  | { kind: 'group-end'; group: EdifactGroup; interchange: EdifactInterchange }
  /** After the UNZ and whatever follows it up to the next interchange or the end of the input. */
  | { kind: 'interchange-end'; interchange: EdifactInterchange }
  /** The rest of the input cannot be read (not EDIFACT, a bad UNA, no segment terminator, a bad tag). */
  | { kind: 'fatal'; problem: Problem };

export class EdifactReader {
  private readonly segments = new SegmentReader();
  private current: InterchangeReading | undefined;
  private stopped = false;

  push(chunk: Uint8Array): EdifactEvent[] {
    return this.read(() => this.segments.push(chunk), false);
  }

  end(): EdifactEvent[] {
    return this.read(() => this.segments.end(), true);
  }

  private read(next: () => Iterable<ReadSegment>, last: boolean): EdifactEvent[] {
    const out: EdifactEvent[] = [];
    if (this.stopped) return out;
    try {
      for (const { tokens, raw } of next()) {
        if (this.current?.tokens === tokens) this.current.next(raw, out);
        else {
          this.current?.finish(out);
          this.current = new InterchangeReading(tokens, raw, out);
        }
      }
      if (last) this.current?.finish(out);
    } catch (e) {
      if (!(e instanceof EdifactSyntaxStop)) throw e;
      this.stopped = true;
      const { code, message, location } = e.problem;
      out.push({ kind: 'fatal', problem: { code, message, ...(location ? { location } : {}) } });
    }
    return out;
  }
}

function fail(tokens: Tokenized, offset: number, message: string, segment?: string): never {
  const at = tokens.lines.at(offset);
  throw new EdifactSyntaxStop({
    code: 'GW_EDIFACT_SYNTAX',
    message,
    location: { ...(segment ? { segment } : {}), line: at.line, column: at.column, offset },
  });
}

/** One interchange being read: its UNB first, then every segment through the envelope checks. */
class InterchangeReading {
  private readonly ic: EdifactInterchange;
  private readonly envelope: EnvelopeWalk;
  private readonly ctx: DecodeContext;
  private index = 1;
  private open = true;
  private trailing = false;
  /** Whether the UNB was the last thing read and had no terminator (checked at the end). */
  private unterminated: boolean;

  constructor(
    readonly tokens: Tokenized,
    first: RawSegment,
    out: EdifactEvent[],
  ) {
    if (first.tag !== 'UNB') fail(tokens, first.offset, `The interchange must begin with UNB, not ${first.tag}.`, first.tag);
    this.unterminated = first.unterminated;
    const syntaxId = first.elements[1]?.[0]?.[0] ?? '';
    const charset = charsetOf(syntaxId);
    const service = Object.values(tokens.separators)
      .filter((c): c is string => typeof c === 'string')
      .join('');
    this.ctx = { tokens, charset, service };
    const headerProblems: EdifactInterchange['problems'] = [];
    const unb = decodeSegment(this.ctx, first, 1, headerProblems);
    this.ic = interchangeFrom(unb, this.ctx, tokens.una, charset?.label ?? 'latin1');
    if (!charset)
      this.ic.problems.push({
        code: 'GW_EDIFACT_CHARSET',
        message: `Syntax identifier "${syntaxId}" is not supported: use UNOA, UNOB, UNOC … UNOL, UNOW or UNOY.`,
        location: { ...unb.location, element: 1 },
        edifact: { error: '2' },
      });
    this.ic.problems.push(...headerProblems, ...checkUnb(this.ic));
    this.envelope = new EnvelopeWalk(this.ic, this.ctx);
    out.push({ kind: 'interchange', interchange: this.ic, sound: this.ic.problems.length === 0 });
  }

  next(raw: RawSegment, out: EdifactEvent[]): void {
    this.index++;
    this.unterminated = false;
    if (this.open) {
      this.open = this.envelope.next(raw, this.index);
      this.drain(out);
    } else if (!this.trailing) {
      // Reported once: whatever follows the UNZ is not read.
      this.trailing = true;
      this.ic.problems.push({
        code: 'GW_EDIFACT_SYNTAX',
        message: `Segment ${raw.tag} follows the UNZ: nothing but another interchange may come after it.`,
        location: { ...decodeSegment(this.ctx, raw, this.index, []).location },
        edifact: { error: '33' },
      });
    }
  }

  finish(out: EdifactEvent[]): void {
    if (this.unterminated)
      fail(
        this.tokens,
        this.ic.header.location.offset ?? 0,
        `No segment terminator "${this.tokens.separators.segment}" was found: the data cannot be split into segments.`,
        'UNB',
      );
    if (!this.ic.trailer) this.envelope.end();
    this.drain(out);
    out.push({ kind: 'interchange-end', interchange: this.ic });
  }

  private drain(out: EdifactEvent[]): void {
    const interchange = this.ic;
    for (const ev of this.envelope.take()) out.push(ev.kind === 'message' ? { ...ev, interchange } : { kind: ev.kind, group: ev.group, interchange });
  }
}
