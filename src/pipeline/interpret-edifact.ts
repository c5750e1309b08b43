import type { Problem, SourceLocation } from '../errors.js';
import type { EdifactReceipt } from '../formats/edifact/contrl.js';
import { parseEdifactInterchanges } from '../formats/edifact/parse.js';
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

function receiptOf(ic: EdifactInterchange, partner: PartnerProfile, problems: Problem[], firstSeq: number, lastSeq: number): EdifactReceipt {
  const message = (m: EdifactMessage) => ({
    ref: m.ref,
    type: m.type,
    version: m.version,
    release: m.release,
    agency: m.agency,
    ...(m.association ? { association: m.association } : {}),
    problems: m.problems,
  });
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
    messages: ic.messages.map(message),
    contrl: problems.length ? [] : ic.messages.filter((m) => isContrl(m) && m.problems.length === 0).map(contrlOf),
    firstSeq,
    lastSeq,
  };
}

/**
 * Reads the payload's interchanges into documents (one per message) and receipts. A refused or
 * broken interchange, or a broken group, forms no documents: its problems are the message's.
 */
export function interpretEdifact(
  bytes: Uint8Array,
  partner: PartnerProfile,
  profiles: readonly CompiledProfile[],
  map?: EdifactMapper,
): Interpretation & { edifact: EdifactReceipt[] } {
  const documents: InterpretedDocument[] = [];
  const problems: Problem[] = [];
  const receipts: EdifactReceipt[] = [];
  for (const read of parseEdifactInterchanges(bytes)) {
    const refused = refusal(read, partner);
    // A message that breaks its segment table is rejected as one with a syntax error (decision 0048).
    const ic = refused || read.problems.length ? read : { ...read, messages: read.messages.map(withStructure) };
    const icProblems = refused ? [refused] : ic.problems;
    problems.push(...icProblems);
    const firstSeq = documents.length + 1;
    if (icProblems.length === 0) {
      const badGroups = new Set(ic.groups.filter((g) => g.problems.length).map((g) => g.ref));
      for (const g of ic.groups) problems.push(...g.problems);
      // A CONTRL answers an interchange we sent: reconciled, never a document.
      for (const m of ic.messages)
        if (!isContrl(m) && (m.group === undefined || !badGroups.has(m.group))) documents.push(documentOf(documents.length + 1, ic, m, partner, profiles, map));
    }
    receipts.push(receiptOf(ic, partner, icProblems, firstSeq, documents.length));
  }
  return { format: 'edifact', documents, problems, edifact: receipts };
}
