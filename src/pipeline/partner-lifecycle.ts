import type { Knex } from 'knex';
import type { GatewayConfig } from '../config/load.js';
import { GatewayError } from '../errors.js';
import { audit } from '../security/audit.js';
import { type Actor, type Credential, type CredentialKind, credentialState } from '../security/credentials.js';
import { notify } from '../store/signals.js';
import type { Channel, DocumentType, PartnerProfile, PartnerState, Route } from '../types.js';

/**
 * A partner's lifecycle (decision 0034). partners/<id>.yaml is the configuration; the database
 * (partner_lifecycle) holds the lifecycle once the partner has moved. Which one applies:
 * - YAML `state: suspended` always wins (the operator's brake);
 * - else the database's state, when it has a row for the partner;
 * - else the YAML state (a partner never moved keeps working as its profile says; `live` stays live).
 */
export interface Lifecycle {
  state: PartnerState;
  yaml: PartnerState;
  database: PartnerState | null;
  applies: 'yaml' | 'database';
  testingSince: Date | null;
  liveSince: Date | null;
  approval: { by: string; at: Date } | null;
}

interface Row {
  partner_id: string;
  state: PartnerState;
  testing_since: Date | null;
  live_since: Date | null;
  approved_by: string | null;
  approved_at: Date | null;
}

export function lifecycleOf(partner: PartnerProfile, row: Row | undefined): Lifecycle {
  const yamlWins = partner.state === 'suspended' || !row;
  const state = yamlWins ? partner.state : row.state;
  return {
    state,
    yaml: partner.state,
    database: row?.state ?? null,
    applies: yamlWins ? 'yaml' : 'database',
    // A partner in testing with no recorded move (its profile says testing) has been testing since it appeared.
    testingSince: row?.testing_since ?? (state === 'testing' ? new Date(0) : null),
    liveSince: row?.live_since ?? null,
    approval: row?.approved_by && row.approved_at ? { by: row.approved_by, at: row.approved_at } : null,
  };
}

async function rowsOf(db: Knex | Knex.Transaction, partnerIds: readonly string[]): Promise<Map<string, Row>> {
  if (!partnerIds.length) return new Map();
  const rows: Row[] = await db('partner_lifecycle')
    .select('*')
    .whereIn('partner_id', [...partnerIds]);
  return new Map(rows.map((r) => [r.partner_id, r]));
}

export async function readLifecycle(db: Knex | Knex.Transaction, partner: PartnerProfile): Promise<Lifecycle> {
  return lifecycleOf(partner, (await rowsOf(db, [partner.id])).get(partner.id));
}

/**
 * Whether a partner's documents take its test routes: before go-live, yes; once live, no. A
 * suspended partner's documents still in the pipeline keep the side it was on: production if it
 * ever went live (or the database has never seen it: suspended in its profile, as before), else test.
 */
export function takesTestRoutes(l: Lifecycle): boolean {
  if (l.state === 'suspended') return l.database !== null && l.liveSince === null;
  return l.state === 'onboarding' || l.state === 'testing';
}

/** The routes a document may take: test routes before go-live, production routes once live. */
export function routesFor(routes: readonly Route[], l: Lifecycle): Route[] {
  const test = takesTestRoutes(l);
  return routes.filter((r) => Boolean(r.test) === test);
}

/**
 * The configuration as one interpretation pass routes with: each named partner's routes narrowed to
 * those of its lifecycle state, read from the database in the pass's own transaction.
 */
export async function withLifecycleRoutes(trx: Knex.Transaction, config: GatewayConfig, partnerIds: readonly string[]): Promise<GatewayConfig> {
  const ids = [...new Set(partnerIds)].filter((id) => config.partners.has(id));
  const rows = await rowsOf(trx, ids);
  const partners = new Map(config.partners);
  for (const id of ids) {
    const p = config.partners.get(id) as PartnerProfile;
    partners.set(id, { ...p, routes: routesFor(p.routes, lifecycleOf(p, rows.get(id))) });
  }
  return { ...config, partners };
}

/**
 * The configuration the doors serve: each partner with the lifecycle state the database gives it
 * (`lifecycle`), so a partner suspended there is refused at intake as one suspended in its profile.
 * Read at start, at each reload and when a lifecycle changes (the `partners` signal).
 */
export async function withLifecycleStates(knex: Knex, config: GatewayConfig): Promise<GatewayConfig> {
  const rows = await rowsOf(knex, [...config.partners.keys()]);
  if (!rows.size) return config;
  const partners = new Map([...config.partners].map(([id, p]) => [id, Object.freeze({ ...p, lifecycle: lifecycleOf(p, rows.get(id)).state })]));
  const byId = (p: Readonly<PartnerProfile>) => partners.get(p.id) ?? p;
  const remap = <K, V extends { partner: Readonly<PartnerProfile> }>(m: ReadonlyMap<K, V>) =>
    new Map([...m].map(([k, v]) => [k, { ...v, partner: byId(v.partner) }]));
  const remapPartners = <K>(m: ReadonlyMap<K, Readonly<PartnerProfile>>) => new Map([...m].map(([k, p]) => [k, byId(p)]));
  return { ...config, partners, as2: remap(config.as2), clients: remapPartners(config.clients), externalSubjects: remapPartners(config.externalSubjects) };
}

/** Credential kinds that let a partner in through each channel. */
const CHANNEL_CREDENTIALS: Record<Channel, readonly CredentialKind[]> = {
  rest: ['api-key', 'client-secret', 'jwt-key', 'tls-cert'],
  sftp: ['ssh-key'],
  as2: ['as2-cert'],
  webhook: ['webhook-secret'],
};

export interface ChecklistItem {
  item: string;
  done: boolean;
  detail: string;
}

/** Reads what the checklist needs; the credential store is passed in as this function (the pipeline floor does not hold it). */
export type PartnerCredentials = (partnerId: string) => Promise<Credential[]>;

/** The onboarding checklist: credentials per channel, a test message per inbound type, acknowledgments collected, approval. */
export async function checklist(
  knex: Knex,
  config: GatewayConfig,
  partner: PartnerProfile,
  lifecycle: Lifecycle,
  credentials: PartnerCredentials,
): Promise<ChecklistItem[]> {
  const issued = (await credentials(partner.id)).filter((c) => ['active', 'next'].includes(credentialState(c)));
  const items: ChecklistItem[] = partner.channels.map((channel) => {
    const kinds = CHANNEL_CREDENTIALS[channel];
    const have = issued.filter((c) => kinds.includes(c.kind));
    const password = channel === 'sftp' && Boolean(partner.credentials.sftpPassword);
    const done = have.length > 0 || password;
    const detail = done ? `${have.map((c) => `${c.kind} ${c.ref}`).join(', ') || 'SFTP password'}` : `no ${kinds.join(' or ')} issued`;
    return { item: `credentials:${channel}`, done, detail };
  });
  const tested = await testedTypes(knex, partner.id, lifecycle);
  for (const type of new Set(partner.inbound.map((i) => i.type)))
    items.push({
      item: `test-message:${type}`,
      done: tested.has(type),
      detail: tested.has(type) ? `a ${type} was accepted while testing` : `no ${type} accepted while the partner was in testing`,
    });
  if (expectsAcks(config, partner)) {
    const n = await collectedAcks(knex, partner.id);
    items.push({
      item: 'acknowledgments',
      done: n > 0,
      detail: n ? `${n} functional acknowledgment(s) collected` : 'no 997/999/CONTRL we sent has been collected',
    });
  }
  const a = lifecycle.approval;
  items.push({ item: 'approval', done: Boolean(a), detail: a ? `approved by ${a.by} at ${a.at.toISOString()}` : 'no one has approved the go-live' });
  return items;
}

/** Inbound types of which a document was accepted between entering testing and going live. */
async function testedTypes(knex: Knex, partnerId: string, lifecycle: Lifecycle): Promise<Set<DocumentType>> {
  if (!lifecycle.testingSince) return new Set();
  const q = knex('documents').distinct('type').where({ partner_id: partnerId, state: 'accepted' }).where('created_at', '>=', lifecycle.testingSince);
  if (lifecycle.liveSince && lifecycle.liveSince > lifecycle.testingSince) q.where('created_at', '<', lifecycle.liveSince);
  return new Set((await q).map((r: { type: DocumentType }) => r.type));
}

/** Acknowledgments apply to partners that send X12 with functional acknowledgments on, or EDIFACT with `contrl: always`. */
function expectsAcks(config: GatewayConfig, partner: PartnerProfile): boolean {
  const formats = new Set<string>(partner.inbound.map((i) => config.mappings.get(i.mapping)?.source.format ?? ''));
  return (formats.has('x12') && partner.x12.acknowledgments.functional !== 'none') || (formats.has('edifact') && partner.edifact.contrl === 'always');
}

async function collectedAcks(knex: Knex, partnerId: string): Promise<number> {
  const row = await knex('messages')
    .count<{ n: string }>('* as n')
    .where({ partner_id: partnerId, direction: 'outbound' })
    .whereIn('doc_type', ['997', '999', 'CONTRL'])
    .whereNotNull('collected_at')
    .first();
  return Number(row?.n ?? 0);
}

/** The moves a partner manager may make; `live` only through goLive. */
const MOVES: Record<PartnerState, readonly PartnerState[]> = {
  onboarding: ['testing', 'suspended'],
  testing: ['testing', 'onboarding', 'suspended'],
  live: ['suspended'],
  suspended: ['onboarding', 'testing', 'live'],
};

/** Moves a partner to onboarding, testing or suspended (audited); live needs goLive. */
export async function moveState(knex: Knex, partner: PartnerProfile, to: PartnerState, actor: Actor): Promise<Lifecycle> {
  return knex.transaction(async (trx) => {
    const now = await lockedLifecycle(trx, partner);
    // Back to live from a suspension only for a partner that went live before; else through go-live.
    if (to === 'live' && !(now.state === 'suspended' && now.liveSince))
      throw new GatewayError(
        'GW_PARTNER_STATE',
        `Partner ${partner.id} goes live through POST /partners/v1/partners/${partner.id}/go-live, which checks its onboarding checklist.`,
      );
    refuseMove(partner, now, to);
    await writeState(trx, partner.id, to, actor, {
      ...(to === 'testing' ? { testing_since: trx.fn.now() } : {}),
      ...firstRow(trx, now),
    });
    await notify(trx, 'partners');
    await audit(trx, {
      actor: actor.actor,
      source: actor.source,
      action: 'partner.state',
      target: partner.id,
      outcome: 'ok',
      details: { from: now.state, to },
    });
    return readLifecycle(trx, partner);
  });
}

function refuseMove(partner: PartnerProfile, now: Lifecycle, to: PartnerState): void {
  if (partner.state === 'suspended')
    throw new GatewayError(
      'GW_PARTNER_STATE',
      `Partner ${partner.id} is suspended in ${partner.file} (state: suspended), which always wins; change the profile first.`,
    );
  if (!MOVES[now.state].includes(to))
    throw new GatewayError('GW_PARTNER_STATE', `Partner ${partner.id} is ${now.state}; it can move to ${MOVES[now.state].join(', ')}, not ${to}.`);
}

async function lockedLifecycle(trx: Knex.Transaction, partner: PartnerProfile): Promise<Lifecycle> {
  const row: Row | undefined = await trx('partner_lifecycle').where('partner_id', partner.id).forUpdate().first();
  return lifecycleOf(partner, row);
}

/** A partner live by its profile and never moved was live all along: its first row says so. */
function firstRow(trx: Knex.Transaction, now: Lifecycle): { live_since?: Knex.Raw } {
  return now.database === null && now.state === 'live' ? { live_since: trx.fn.now() } : {};
}

async function writeState(trx: Knex.Transaction, partnerId: string, state: PartnerState, actor: Actor, extra: Record<string, unknown>): Promise<void> {
  const values = { state, changed_by: actor.actor, changed_at: trx.fn.now(), ...extra };
  await trx('partner_lifecycle')
    .insert({ partner_id: partnerId, ...values })
    .onConflict('partner_id')
    .merge(Object.keys(values) as (keyof Row)[]);
}

/** Records a named person's approval of the go-live (audited). */
export async function approve(knex: Knex, partner: PartnerProfile, by: string, actor: Actor): Promise<Lifecycle> {
  const name = by.trim();
  if (!name || name.length > 200)
    throw new GatewayError('GW_REQUEST_INVALID', 'The approval names the person who approves: {"approvedBy": "<name>"} (1–200 characters).');
  return knex.transaction(async (trx) => {
    const now = await lockedLifecycle(trx, partner);
    const at = { approved_by: name, approved_at: trx.fn.now() };
    await trx('partner_lifecycle')
      .insert({ partner_id: partner.id, state: now.state, changed_by: actor.actor, ...at, ...firstRow(trx, now) })
      .onConflict('partner_id')
      .merge(['approved_by', 'approved_at']);
    await audit(trx, { actor: actor.actor, source: actor.source, action: 'partner.approve', target: partner.id, outcome: 'ok', details: { approvedBy: name } });
    return readLifecycle(trx, partner);
  });
}

/**
 * Go-live, one audited step: refused with GW_PARTNER_NOT_READY naming every missing item while the
 * checklist is incomplete (the refusal is audited too), else the partner is live from now on.
 */
export async function goLive(
  knex: Knex,
  config: GatewayConfig,
  partner: PartnerProfile,
  actor: Actor,
  credentials: PartnerCredentials,
): Promise<{ lifecycle: Lifecycle; checklist: ChecklistItem[] }> {
  return knex.transaction(async (trx) => {
    const now = await lockedLifecycle(trx, partner);
    if (partner.state === 'suspended' || now.state !== 'testing')
      throw new GatewayError('GW_PARTNER_STATE', `Partner ${partner.id} is ${now.state} (${now.applies}); only a partner in testing goes live.`);
    const items = await checklist(knex, config, partner, now, credentials);
    const missing = items.filter((i) => !i.done);
    if (missing.length) {
      const details = { missing: missing.map((i) => i.item) };
      await audit(knex, { actor: actor.actor, source: actor.source, action: 'partner.go-live', target: partner.id, outcome: 'denied', details });
      const problems = missing.map((i) => ({ code: 'GW_PARTNER_NOT_READY' as const, message: `${i.item}: ${i.detail}` }));
      throw new GatewayError('GW_PARTNER_NOT_READY', `Partner ${partner.id} cannot go live; missing: ${details.missing.join(', ')}.`, { problems });
    }
    await writeState(trx, partner.id, 'live', actor, { live_since: trx.fn.now() });
    await notify(trx, 'partners');
    await audit(trx, {
      actor: actor.actor,
      source: actor.source,
      action: 'partner.go-live',
      target: partner.id,
      outcome: 'ok',
      details: { approvedBy: now.approval?.by },
    });
    return { lifecycle: await readLifecycle(trx, partner), checklist: items };
  });
}
