import type { Problem } from '../../errors.js';
import type { GroupReport, InterchangeReport } from './report.js';
import { writeInterchange, type OutboundGroup, type OutboundInterchange, type X12WriteOptions } from './write.js';

/**
 * Acknowledgments for one inbound interchange: a TA1 for the interchange (when asked for with
 * ISA14 = 1, when the envelope is bad, or per partner policy) and a 997 or 999 per functional group,
 * in one interchange that mirrors the inbound one (sender and receiver swapped, the partner's
 * delimiters, ISA12 as received). Acknowledgments are never acknowledged.
 */
export interface AckPolicy {
  /** `auto`: 999 for groups of version 005010 and later, 997 before. */
  functional: 'auto' | '997' | '999' | 'none';
  ta1: 'requested' | 'always' | 'never';
}

export interface AckPlan {
  report: InterchangeReport;
  /** TA1 elements (TA101 … TA105) when a TA1 is sent. */
  ta1?: string[];
  /** One acknowledgment group per GS08 version, each holding one 997/999 per inbound group. */
  groups: { version: string; type: '997' | '999'; acks: { inbound: GroupReport; status: string }[] }[];
  /** What the TA1 and the functional acks say, for the timeline. */
  summary: string;
}

export type AckType = '997' | '999';

const FUNCTIONAL_ACK_GROUP = 'FA';

function ackType(version: string, policy: AckPolicy): AckType | null {
  if (policy.functional === 'none') return null;
  if (policy.functional !== 'auto') return policy.functional;
  return version.slice(0, 6) >= '005010' ? '999' : '997';
}

/** AK9/IK5 status: A accepted, P partially accepted, R rejected. */
function groupStatus(g: GroupReport): { status: string; accepted: number } {
  const accepted = g.problems.length ? 0 : g.sets.filter((s) => s.problems.length === 0).length;
  const status = g.problems.length || accepted === 0 ? 'R' : accepted < g.sets.length ? 'P' : 'A';
  return { status, accepted };
}

function codes(problems: Problem[], key: 'ak5' | 'ak9', max: number): string[] {
  return [...new Set(problems.map((p) => p.x12?.[key]).filter((c): c is string => Boolean(c)))].slice(0, max);
}

/** The 997 or 999 body (between ST and SE) for one inbound group, produced as it is written. */
export function* functionalAckSegments(g: GroupReport, type: AckType): Generator<[string, ...string[]]> {
  const is999 = type === '999';
  yield is999 ? ['AK1', g.header.functionalId, g.header.control, g.header.version] : ['AK1', g.header.functionalId, g.header.control];
  for (const s of g.sets) {
    yield is999 && s.implementation ? ['AK2', s.id, s.control, s.implementation] : ['AK2', s.id, s.control];
    for (const p of s.problems) {
      const loc = p.location ?? {};
      if (!p.x12?.ak3 || !loc.segment || !loc.position) continue;
      yield [is999 ? 'IK3' : 'AK3', loc.segment, String(loc.position), '', p.x12.ak3];
      if (p.x12.ak4 && loc.element) {
        yield [is999 ? 'IK4' : 'AK4', String(loc.element), '', p.x12.ak4, ...(p.x12.value !== undefined ? [p.x12.value.slice(0, 99)] : [])];
      }
    }
    const setCodes = codes(s.problems, 'ak5', 5);
    const rejected = s.problems.length > 0;
    if (rejected && setCodes.length === 0 && s.problems.some((p) => p.x12?.ak3)) setCodes.push('5');
    yield [is999 ? 'IK5' : 'AK5', rejected ? 'R' : 'A', ...setCodes];
  }
  const { status, accepted } = groupStatus(g);
  const declared = g.declaredSets !== null && /^\d+$/.test(g.declaredSets) ? String(Number(g.declaredSets)) : String(g.sets.length);
  yield ['AK9', status, declared, String(g.sets.length), String(accepted), ...codes(g.problems, 'ak9', 5)];
}

/**
 * Decides what to answer for an interchange. Returns null when nothing is sent: the interchange was
 * refused (unknown sender), it carries only acknowledgments, or the policy asks for nothing.
 * `duplicate` is set when the interchange repeats an earlier one: `reject` answers TA1 R 025 only.
 */
export function planAck(report: InterchangeReport, policy: AckPolicy, duplicate?: 'reject' | 'acknowledge'): AckPlan | null {
  if (report.refused) return null;
  const business = report.groups.filter((g) => g.header.functionalId !== FUNCTIONAL_ACK_GROUP);
  if (business.length === 0 && report.groups.length + report.ta1.length > 0) return null;
  const h = report.header;
  const envelopeBad = report.problems.length > 0;
  const wantTa1 = policy.ta1 === 'always' || (policy.ta1 === 'requested' && (h.ackRequested || envelopeBad || duplicate === 'reject'));
  let ta1: string[] | undefined;
  if (wantTa1) {
    const note = duplicate === 'reject' ? '025' : (report.problems.find((p) => p.x12?.ta1)?.x12?.ta1 ?? (envelopeBad ? '024' : '000'));
    ta1 = [h.control, h.isa[8] ?? '', h.isa[9] ?? '', envelopeBad || duplicate === 'reject' ? 'R' : 'A', note];
  }
  const groups: AckPlan['groups'] = [];
  // A rejected interchange is answered by its TA1 alone; its groups were not read.
  if (!envelopeBad && duplicate !== 'reject') {
    for (const g of business) {
      const type = ackType(g.header.version, policy);
      if (!type) continue;
      const version = type === '999' ? '005010X231' : g.header.version || '004010';
      let target = groups.find((x) => x.version === version && x.type === type);
      if (!target) groups.push((target = { version, type, acks: [] }));
      target.acks.push({ inbound: g, status: groupStatus(g).status });
    }
  }
  if (!ta1 && groups.length === 0) return null;
  const parts = [
    ...(ta1 ? [`TA1 ${ta1[3]} ${ta1[4]}`] : []),
    ...groups.flatMap((g) => g.acks.map((a) => `${g.type} for group ${a.inbound.header.control}: ${a.status}`)),
  ];
  return { report, ...(ta1 ? { ta1 } : {}), groups, summary: parts.join('; ') };
}

export interface AckControls {
  isa: string;
  /** One per plan group. */
  gs: string[];
  /** One per acknowledgment set, in plan order. */
  st: string[];
}

/** The planned acknowledgment interchange with the control numbers given, ready to be written. */
export function ackInterchange(
  plan: AckPlan,
  controls: AckControls,
  at: Date,
  lineBreak: string,
): { interchange: OutboundInterchange; options: X12WriteOptions } {
  const h = plan.report.header;
  let st = 0;
  const groups: OutboundGroup[] = plan.groups.map((g, i) => {
    const first = g.acks[0]?.inbound.header;
    return {
      functionalId: FUNCTIONAL_ACK_GROUP,
      sender: first?.receiver ?? '',
      receiver: first?.sender ?? '',
      control: controls.gs[i] as string,
      version: g.version,
      sets: g.acks.map((a) => ({
        id: g.type,
        control: controls.st[st++] as string,
        ...(g.type === '999' ? { implementation: g.version } : {}),
        segments: { [Symbol.iterator]: () => functionalAckSegments(a.inbound, g.type) },
      })),
    };
  });
  return {
    interchange: {
      // ISA05/06 and ISA07/08 swapped.
      sender: { qualifier: h.isa[6] ?? '', id: (h.isa[7] ?? '').trimEnd() },
      receiver: { qualifier: h.isa[4] ?? '', id: (h.isa[5] ?? '').trimEnd() },
      control: controls.isa,
      version: h.standardVersion,
      usage: h.test ? 'T' : 'P',
      ackRequested: false,
      ...(plan.ta1 ? { ta1: [plan.ta1] } : {}),
      groups,
      at,
    },
    options: { delimiters: h.delimiters, lineBreak: h.delimiters.segment === '\n' || h.delimiters.segment === '\r' ? '' : lineBreak },
  };
}

/** Writes the planned acknowledgment interchange with the control numbers given. */
export function renderAck(plan: AckPlan, controls: AckControls, at: Date, lineBreak: string): { text: string } {
  const { interchange, options } = ackInterchange(plan, controls, at, lineBreak);
  return { text: writeInterchange(interchange, options) };
}

/** Number of ST control numbers a plan needs. */
export function ackSetCount(plan: AckPlan): number {
  return plan.groups.reduce((n, g) => n + g.acks.length, 0);
}
