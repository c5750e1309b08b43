import { GatewayError } from '../../errors.js';
import { charsetOf } from './charset.js';
import { checkUnb, EnvelopeWalk, interchangeFrom } from './envelope.js';
import { EdifactSyntaxStop, lineColumn, type Tokenized, tokenize } from './reader.js';
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
  let tokens: Tokenized[];
  try {
    tokens = tokenize(s);
  } catch (e) {
    if (e instanceof EdifactSyntaxStop) throw new GatewayError(e.problem.code, e.problem.message, locationOf(e.problem));
    throw e;
  }
  return tokens.map(walk);
}

const locationOf = (p: { location?: EdifactInterchange['header']['location'] }) => (p.location ? { location: p.location } : {});

function fail(tokens: Tokenized, offset: number, message: string, segment?: string): never {
  const at = lineColumn(tokens.lineStarts, offset);
  throw new GatewayError('GW_EDIFACT_SYNTAX', message, { location: { ...(segment ? { segment } : {}), line: at.line, column: at.column, offset } });
}

function walk(tokens: Tokenized): EdifactInterchange {
  const [first, ...rest] = tokens.segments;
  if (first?.tag !== 'UNB') fail(tokens, first?.offset ?? 0, `The interchange must begin with UNB, not ${first?.tag ?? 'nothing'}.`, first?.tag);
  if (first.unterminated && rest.length === 0)
    fail(tokens, first.offset, `No segment terminator "${tokens.separators.segment}" was found: the data cannot be split into segments.`, 'UNB');
  const syntaxId = first.elements[1]?.[0]?.[0]?.text ?? '';
  const charset = charsetOf(syntaxId);
  const service = Object.values(tokens.separators)
    .filter((c): c is string => typeof c === 'string')
    .join('');
  const ctx: DecodeContext = { tokens, charset, service };
  const headerProblems: EdifactInterchange['problems'] = [];
  const unb = decodeSegment(ctx, first, 1, headerProblems);
  const ic = interchangeFrom(unb, ctx, tokens.una, charset?.label ?? 'latin1');
  if (!charset)
    ic.problems.push({
      code: 'GW_EDIFACT_CHARSET',
      message: `Syntax identifier "${syntaxId}" is not supported: use UNOA, UNOB, UNOC … UNOL, UNOW or UNOY.`,
      location: { ...unb.location, element: 1 },
      edifact: { error: '2' },
    });
  ic.problems.push(...headerProblems, ...checkUnb(ic));
  const envelope = new EnvelopeWalk(ic, ctx);
  let index = 1;
  for (const raw of rest) if (!envelope.next(raw, ++index)) break;
  if (!ic.trailer) envelope.end(ic.messages.at(-1)?.segments.at(-1)?.location ?? unb.location);
  return ic;
}
