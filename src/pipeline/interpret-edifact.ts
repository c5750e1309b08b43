import { GatewayError, type Problem, type SourceLocation } from '../errors.js';
import type { EdifactReceipt } from '../formats/edifact/contrl.js';
import { type EdifactEvent, EdifactReader } from '../formats/edifact/stream.js';
import { checkMessageStructure } from '../formats/edifact/structure-check.js';
import type { EdifactInterchange, EdifactMessage, EdifactParty } from '../formats/edifact/types.js';
import type { CompiledProfile } from '../mapping/profile.js';
import type { PartnerProfile } from '../types.js';
import type { Interpretation, InterpretedDocument } from './interpret.js';

/**
 * Interprets an EDIFACT payload: each interchange checked against the partner's ids, each message
 * routed to the partner's mapping profile by message type, version and release (`source: { format:
 * edifact, message, version, release }`), and a receipt per interchange for its CONTRL. Pure.
 * @see docs/edifact.md
 */

/** A mapping profile's EDIFACT source, as the profile schema declares it. */
interface EdifactSourceSpec {
  format: 'edifact';
  message: string;
  version?: string;
  release?: string;
  association?: string;
}

/** Maps one message with its profile (the EDIFACT mapping source); absent, matched messages are rejected. */
export type EdifactMapper = (seq: number, sourceRef: string, profile: CompiledProfile, message: EdifactMessage) => InterpretedDocument;

function edifactSource(p: CompiledProfile): EdifactSourceSpec | undefined {
  const source = p.source as { format: string };
  return source.format === 'edifact' ? (source as EdifactSourceSpec) : undefined;
}

/** The profile for a message: same type, and version/release/association where the profile names them. */
export function edifactProfileFor(profiles: readonly CompiledProfile[], m: EdifactMessage): CompiledProfile | undefined {
  return profiles.find((p) => {
    const s = edifactSource(p);
    return (
      s &&
      s.message === m.type &&
      (!s.version || s.version === m.version) &&
      (!s.release || s.release === m.release) &&
      (!s.association || s.association === m.association)
    );
  });
}

const sameParty = (listed: EdifactParty, sent: EdifactParty) => listed.id === sent.id && (!listed.qualifier || listed.qualifier === sent.qualifier);
const partyText = (p: EdifactParty) => (p.qualifier ? `${p.id}:${p.qualifier}` : p.id);

/** Refusals for an interchange from someone other than the partner, or for someone other than us. */
function refusal(ic: EdifactInterchange, partner: PartnerProfile): Problem | undefined {
  const senders = partner.identifiers.edifact;
  if (senders?.length && !senders.some((s) => sameParty(s, ic.sender)))
    return {
      code: 'GW_EDIFACT_ENVELOPE',
      message: `Interchange ${ic.controlRef} is sent as ${partyText(ic.sender)} (UNB S002), which is not an identifier of partner ${partner.id}.`,
      location: { ...ic.header.location, element: 2 },
      edifact: { error: '23' },
    };
  const ours = partner.edifact.ourId;
  if (ours && !sameParty(ours, ic.recipient))
    return {
      code: 'GW_EDIFACT_ENVELOPE',
      message: `Interchange ${ic.controlRef} is addressed to ${partyText(ic.recipient)} (UNB S003), not to us (${partyText(ours)}).`,
      location: { ...ic.header.location, element: 3 },
      edifact: { error: '7' },
    };
  if (ic.test && partner.edifact.testInterchanges === 'refuse')
    return {
      code: 'GW_EDIFACT_ENVELOPE',
      message:
        `Interchange ${ic.controlRef} is a test interchange (UNB 0035 = 1); ` +
        `partner ${partner.id} sends no test interchanges (edifact.testInterchanges: refuse).`,
      location: { ...ic.header.location, element: 11 },
      edifact: { error: '25' },
    };
  return undefined;
}

function documentOf(
  seq: number,
  ic: EdifactInterchange,
  m: EdifactMessage,
  partner: PartnerProfile,
  profiles: readonly CompiledProfile[],
  map: EdifactMapper | undefined,
): InterpretedDocument {
  const sourceRef = `UNB ${ic.controlRef} / UNH ${m.ref} (${m.type} ${m.version}:${m.release})`;
  const profile = edifactProfileFor(profiles, m);
  const at: SourceLocation = { segment: 'UNH', position: 1, transaction: m.ref, ...(m.header.location.line ? { line: m.header.location.line } : {}) };
  const shell = {
    seq,
    canonical: null,
    keys: { purchaseOrderNumbers: [] },
    sourceRef,
    type: profile?.target.type ?? null,
    schemaVersion: profile?.target.version ?? null,
    profile: profile ? { id: profile.id, version: profile.version } : null,
  };
  // Syntax problems first: they are what the CONTRL reports, whatever the mapping would say.
  if (m.problems.length) return { ...shell, problems: m.problems };
  if (profile && map) return map(seq, sourceRef, profile, m);
  const message = profile
    ? `EDIFACT ${m.type} ${m.version}:${m.release} matches profile ${profile.id}, but EDIFACT mapping is not available in this build.`
    : `Partner ${partner.id} has no mapping profile for EDIFACT ${m.type} ${m.version}:${m.release}${m.association ? ` (${m.association})` : ''}.`;
  return { ...shell, problems: [{ code: 'GW_DOC_TYPE_UNKNOWN', message, location: at }] };
}

/** What a CONTRL we received says: the interchange it answers (UCI 0020) and its action (0083). */
function contrlOf(m: EdifactMessage): { ref: string; action: string } {
  const uci = m.segments.find((s) => s.tag === 'UCI');
  return { ref: uci?.elements[0]?.[0] ?? '', action: uci?.elements[3]?.[0] ?? '' };
}

const isContrl = (m: EdifactMessage) => m.type === 'CONTRL';

/** The message with the problems of its structure added (none when the gateway has no segment table for it). */
function withStructure(m: EdifactMessage): EdifactMessage {
  const problems = checkMessageStructure(m);
  return problems.length ? { ...m, problems: [...m.problems, ...problems] } : m;
}

/** A message as its interchange's CONTRL names it. */
function receiptMessage(m: EdifactMessage): EdifactReceipt['messages'][number] {
  return {
    ref: m.ref,
    type: m.type,
    version: m.version,
    release: m.release,
    agency: m.agency,
    ...(m.association ? { association: m.association } : {}),
    problems: m.problems,
  };
}

/** What an interchange being read has come to so far. */
interface OpenInterchange {
  ic: EdifactInterchange;
  refused: Problem | undefined;
  /** Sequence numbers of its first document and of the first of its current group. */
  firstSeq: number;
  groupFirstSeq: number;
  messages: EdifactReceipt['messages'];
  contrl: EdifactReceipt['contrl'];
}

function receiptOf(open: OpenInterchange, partner: PartnerProfile, problems: Problem[], lastSeq: number): EdifactReceipt {
  const { ic } = open;
  return {
    syntax: { id: ic.syntax.id, version: ic.syntax.version },
    separators: ic.separators,
    una: ic.una,
    sender: ic.sender,
    recipient: ic.recipient,
    controlRef: ic.controlRef,
    ackRequested: ic.ackRequested,
    test: ic.test,
    ...(partner.edifact.contrlReport === 'receipt' ? { receiptOnly: true } : {}),
    problems,
    groups: ic.groups.map((g) => ({ ref: g.ref, functionalId: g.functionalId, sender: g.sender, recipient: g.recipient, problems: g.problems })),
    messages: open.messages,
    contrl: problems.length ? [] : open.contrl,
    firstSeq: open.firstSeq,
    lastSeq,
  };
}

/**
 * What the EDIFACT interpreter hands out, in payload order. Documents come as their messages
 * complete; a group or interchange found broken afterwards (a UNE or UNZ count, a missing trailer)
 * names the sequence numbers of the documents it takes back.
 */
export type EdifactItem =
  /** `readable`: neither refused nor broken in its UNB, so it is claimed against duplicates. */
  | { kind: 'interchange'; controlRef: string; sender: EdifactParty; readable: boolean }
  | { kind: 'document'; doc: InterpretedDocument }
  | { kind: 'group-end'; ref: string; problems: Problem[]; firstSeq: number; lastSeq: number }
  /** `problems`: the interchange's (its documents are taken back), else those of its groups. */
  | { kind: 'interchange-end'; receipt: EdifactReceipt; problems: Problem[] }
  /** Reading stopped; the documents of the interchange being read (`firstSeq`…`lastSeq`) are taken back. */
  | { kind: 'fatal'; problem: Problem; firstSeq: number; lastSeq: number };

/**
 * Interprets an EDIFACT stream: push bytes, get documents (one per message) and a receipt per
 * interchange as soon as they are complete. A refused interchange, or one broken in its UNB, forms
 * no documents; nor do the messages read after its interchange or group is known to be broken.
 * Holds the message being read and, per interchange, the short receipt of each message. Pure.
 * @see docs/decisions/0047-edifact-streaming.md
 */
export class EdifactInterpreter {
  private readonly reader = new EdifactReader();
  private seq = 0;
  private open: OpenInterchange | undefined;

  constructor(
    private readonly partner: PartnerProfile,
    private readonly profiles: readonly CompiledProfile[],
    private readonly map?: EdifactMapper,
  ) {}

  push(chunk: Uint8Array): EdifactItem[] {
    return this.handle(this.reader.push(chunk));
  }

  end(): EdifactItem[] {
    return this.handle(this.reader.end());
  }

  private handle(events: EdifactEvent[]): EdifactItem[] {
    const out: EdifactItem[] = [];
    for (const ev of events) {
      const item = this.item(ev);
      if (item) out.push(item);
    }
    return out;
  }

  private item(ev: EdifactEvent): EdifactItem | undefined {
    switch (ev.kind) {
      case 'interchange':
        return this.begin(ev.interchange, ev.sound);
      case 'group':
        if (this.open) this.open.groupFirstSeq = this.seq + 1;
        return undefined;
      case 'message':
        return this.message(ev.message, ev.sound);
      case 'group-end': {
        const first = this.open?.groupFirstSeq ?? this.seq + 1;
        return ev.group.problems.length ? { kind: 'group-end', ref: ev.group.ref, problems: ev.group.problems, firstSeq: first, lastSeq: this.seq } : undefined;
      }
      case 'interchange-end':
        return this.finish();
      case 'fatal': {
        const firstSeq = this.open?.firstSeq ?? this.seq + 1;
        this.open = undefined;
        return { kind: 'fatal', problem: ev.problem, firstSeq, lastSeq: this.seq };
      }
    }
  }

  private begin(ic: EdifactInterchange, sound: boolean): EdifactItem {
    const refused = refusal(ic, this.partner);
    const first = this.seq + 1;
    this.open = { ic, refused, firstSeq: first, groupFirstSeq: first, messages: [], contrl: [] };
    return { kind: 'interchange', controlRef: ic.controlRef, sender: ic.sender, readable: !refused && sound };
  }

  /** A message read; `sound` when its interchange and group had no problem when it ended. */
  private message(read: EdifactMessage, sound: boolean): EdifactItem | undefined {
    const open = this.open as OpenInterchange;
    const usable = !open.refused && sound;
    // A message that breaks its segment table is rejected as one with a syntax error (decision 0048).
    const m = usable ? withStructure(read) : read;
    open.messages.push(receiptMessage(m));
    // A CONTRL answers an interchange we sent: reconciled, never a document.
    if (isContrl(m)) {
      if (m.problems.length === 0) open.contrl.push(contrlOf(m));
      return undefined;
    }
    if (!usable) return undefined;
    return { kind: 'document', doc: documentOf(++this.seq, open.ic, m, this.partner, this.profiles, this.map) };
  }

  private finish(): EdifactItem {
    const open = this.open as OpenInterchange;
    this.open = undefined;
    const icProblems = open.refused ? [open.refused] : open.ic.problems;
    const problems = icProblems.length ? icProblems : open.ic.groups.flatMap((g) => g.problems);
    return { kind: 'interchange-end', receipt: receiptOf(open, this.partner, icProblems, this.seq), problems };
  }
}

/**
 * Reads a whole payload into documents (one per message) and receipts (tests, the mapping test, the
 * workbench; the pipeline streams with EdifactInterpreter). The documents of a broken interchange or
 * group are left out; input that cannot be read throws GatewayError (GW_EDIFACT_SYNTAX).
 */
export function interpretEdifact(
  bytes: Uint8Array,
  partner: PartnerProfile,
  profiles: readonly CompiledProfile[],
  map?: EdifactMapper,
): Interpretation & { edifact: EdifactReceipt[] } {
  const interpreter = new EdifactInterpreter(partner, profiles, map);
  let documents: InterpretedDocument[] = [];
  const problems: Problem[] = [];
  const receipts: EdifactReceipt[] = [];
  const takeBack = (from: number, to: number) => {
    documents = documents.filter((d) => d.seq < from || d.seq > to);
  };
  const items = interpreter.push(bytes).concat(interpreter.end());
  for (const item of items) {
    if (item.kind === 'document') documents.push(item.doc);
    else if (item.kind === 'group-end') takeBack(item.firstSeq, item.lastSeq);
    else if (item.kind === 'interchange-end') {
      if (item.receipt.problems.length) takeBack(item.receipt.firstSeq, item.receipt.lastSeq);
      problems.push(...item.problems);
      receipts.push(item.receipt);
    } else if (item.kind === 'fatal')
      throw new GatewayError(item.problem.code, item.problem.message, item.problem.location ? { location: item.problem.location } : {});
  }
  return { format: 'edifact', documents, problems, edifact: receipts };
}
