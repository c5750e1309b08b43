import { GatewayError } from '../../errors.js';
import { charsetOf } from './charset.js';
import { checkUnb, EnvelopeWalk, interchangeFrom } from './envelope.js';
import { EdifactSyntaxStop, lineColumn, type RawSegment, type Tokenized, tokenize } from './reader.js';
import { type DecodeContext, decodeSegment } from './segments.js';
import type { EdifactInterchange } from './types.js';

export { segmentValue } from './segments.js';
export type * from './types.js';

/**
 * Reads the first EDIFACT interchange (UNA? UNB … UNZ) of a payload. Problems with a message stay on it (so the others
 * can be used and a CONTRL can name them), problems with the interchange as a whole are on
 * `problems`; input that cannot be split into segments at all throws GatewayError
 * (GW_EDIFACT_SYNTAX). Pure: no I/O.
 * @see docs/edifact.md
 */
export function parseEdifact(bytes: Uint8Array): EdifactInterchange {
  const [first] = parseEdifactInterchanges(bytes);
  if (!first) throw new GatewayError('GW_EDIFACT_SYNTAX', 'The payload holds no EDIFACT interchange.');
  return first;
}

/** Reads every interchange of a payload (several UNB … UNZ one after the other, each maybe with a UNA). */
export function parseEdifactInterchanges(bytes: Uint8Array): EdifactInterchange[] {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  const out: EdifactInterchange[] = [];
  let current: InterchangeReading | undefined;
  try {
    for (const { tokens, raw } of tokenize(s)) {
      if (current?.tokens !== tokens) {
        if (current) out.push(current.finish());
        current = new InterchangeReading(tokens, raw);
      } else current.next(raw);
    }
  } catch (e) {
    if (e instanceof EdifactSyntaxStop) throw new GatewayError(e.problem.code, e.problem.message, locationOf(e.problem));
    throw e;
  }
  if (current) out.push(current.finish());
  return out;
}

const locationOf = (p: { location?: EdifactInterchange['header']['location'] }) => (p.location ? { location: p.location } : {});

function fail(tokens: Tokenized, offset: number, message: string, segment?: string): never {
  const at = lineColumn(tokens.lineStarts, offset);
  throw new GatewayError('GW_EDIFACT_SYNTAX', message, { location: { ...(segment ? { segment } : {}), line: at.line, column: at.column, offset } });
}

/** One interchange being read: its UNB first, then every segment through the envelope checks. */
class InterchangeReading {
  private readonly ic: EdifactInterchange;
  private readonly envelope: EnvelopeWalk;
  private readonly ctx: DecodeContext;
  private index = 1;
  private open = true;
  private trailing = false;

  constructor(
    readonly tokens: Tokenized,
    private readonly first: RawSegment,
  ) {
    if (first.tag !== 'UNB') fail(tokens, first.offset, `The interchange must begin with UNB, not ${first.tag}.`, first.tag);
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
  }

  next(raw: RawSegment): void {
    this.index++;
    if (this.open) this.open = this.envelope.next(raw, this.index);
    else if (!this.trailing) {
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

  finish(): EdifactInterchange {
    if (this.index === 1 && this.first.unterminated)
      fail(
        this.tokens,
        this.first.offset,
        `No segment terminator "${this.tokens.separators.segment}" was found: the data cannot be split into segments.`,
        'UNB',
      );
    if (!this.ic.trailer) this.envelope.end(this.ic.messages.at(-1)?.segments.at(-1)?.location ?? this.ic.header.location);
    return this.ic;
  }
}
