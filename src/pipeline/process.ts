import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/load.js';
import { isGatewayError, type Problem } from '../errors.js';
import type { PartnerProfile, SourceFormat } from '../types.js';
import { ackInterchange, ackSetCount, planAck } from '../formats/x12/ack.js';
import type { X12InterchangeHeader } from '../formats/x12/reader.js';
import { interchangeText, LINE_BREAKS } from '../formats/x12/write.js';
import type { GroupReport, InterchangeReport } from '../formats/x12/report.js';
import { recordEvents } from '../observability/events.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import { inlineInterpreter, type Interpreter, type ReadyInterpretation, type ReadyX12Item, type StreamFormat } from './interpreter.js';
import { reconcileFunctionalAck, reconcileTa1, reserveEnvelopeControls, storeOutbound } from './outbound.js';
import { finishInterpretation, markFailed } from './messages.js';
import { processEdifact } from './process-edifact.js';
import { withLifecycleRoutes } from './partner-lifecycle.js';
import type { ClaimedMessage } from './document-records.js';
import { DocumentWriter, WRITE_BATCH } from './document-writer.js';
import { reportInterpreted, type Interpreted } from './interpreted-report.js';
import { settle } from './message-settle.js';
import { interpretedEvent, writeWholeMessages } from './process-whole.js';
import { pumpStream, RAW_SLICE_BYTES, readRaw } from './stream-pump.js';
import { publishDocumentEvents } from './business-events.js';

/**
 * Claims up to `limit` received messages (FOR UPDATE SKIP LOCKED, so any number of gateway
 * processes can share the work), interprets each, and writes its documents, deliveries and timeline
 * in the same transaction as its new state. Returns how many messages were handled. The bodies are
 * parsed, mapped and validated by `interpreter` (the gateway's worker pool; by default this thread).
 * `current` may be a function that returns the running configuration: it is read once the messages
 * are claimed, so a message received after a reload takes the reloaded routes even when this pass
 * began before the reload. Once the batch committed, its documents are counted and its rejected and
 * duplicate messages logged (src/pipeline/interpreted-report.ts).
 */
export async function processBatch(
  knex: Knex,
  current: GatewayConfig | (() => GatewayConfig),
  log: Logger,
  limit = 10,
  interpreter: Interpreter = inlineInterpreter,
  metrics?: GatewayMetrics,
): Promise<number> {
  const outcomes: Interpreted[] = [];
  const handled = await knex.transaction(async (trx) => {
    const rows: ClaimedMessage[] = await trx('messages')
      .select(
        'id',
        'partner_id',
        'channel',
        'format',
        'content_type',
        'size_bytes',
        'correlation_id',
        'file_name',
        'scopes',
        trx.raw('CASE WHEN size_bytes <= ? THEN raw END AS raw', [RAW_SLICE_BYTES]),
      )
      .where('state', 'received')
      .orderBy('received_at')
      .limit(limit)
      .forUpdate()
      .skipLocked();
    const loaded = typeof current === 'function' ? current() : current;
    // Each partner's documents take the routes of its lifecycle state (test routes before go-live).
    const config = await withLifecycleRoutes(
      trx,
      loaded,
      rows.map((r) => r.partner_id),
    );
    // Small bodies go to the interpreter all at once: the workers interpret the next messages while
    // this thread writes the results of the earlier ones.
    const early = new Map(rows.map((row) => [row.id, interpretEarly(config, row, interpreter)]));
    const written = await writeTogether(trx, config, rows, early, log);
    outcomes.push(...written.values());
    for (const row of rows.filter((r) => !written.has(r.id))) {
      const mlog = log.child({ partner: row.partner_id, messageId: row.id, correlationId: row.correlation_id });
      try {
        outcomes.push(await trx.transaction((sp) => processOne(sp, config, row, interpreter, early.get(row.id))));
      } catch (err) {
        // The savepoint rolled back whatever this message wrote; record the failure so it stays visible.
        // A worker stopped for time or memory says so with its own code (GW_INTERPRET_*).
        mlog.error({ err }, 'processing failed');
        const problem: Problem = isGatewayError(err)
          ? err.toProblem()
          : {
              code: 'GW_INTERNAL',
              message: `Processing failed unexpectedly: ${(err as Error).message}. The raw message is kept; replay it once the cause is fixed.`,
            };
        await markFailed(trx, row.id, problem);
        await recordEvents(trx, [{ message_id: row.id, type: 'failed', code: problem.code, detail: problem.message }]);
      }
    }
    await publishDocumentEvents(
      trx,
      rows.map((r) => r.id),
    );
    return rows.length;
  });
  reportInterpreted(log, metrics, outcomes);
  return handled;
}

/**
 * Writes the messages whose early interpretation is ready in one go (one savepoint); returns what
 * each came to, by id. If that fails, nothing of it stays and each message is written on its own, as before.
 */
async function writeTogether(
  trx: Knex.Transaction,
  config: GatewayConfig,
  rows: readonly ClaimedMessage[],
  early: ReadonlyMap<string, EarlyInterpretation>,
  log: Logger,
): Promise<Map<string, Interpreted>> {
  const ready: { row: ClaimedMessage; result: ReadyInterpretation }[] = [];
  for (const row of rows) {
    const outcome = await early.get(row.id);
    if (outcome?.ok) ready.push({ row, result: outcome.result });
  }
  if (ready.length < 2) return new Map();
  try {
    const outcomes = await trx.transaction((sp) => writeWholeMessages(sp, config, ready));
    return new Map(outcomes.map((o) => [o.row.id, o]));
  } catch (err) {
    log.warn({ err, messages: ready.length }, 'interpretation: writing the batch at once failed; writing each message on its own');
    return new Map();
  }
}

/** A whole (JSON, XML, CSV) body that came with the claim, handed to the interpreter now; its outcome, or why it failed, is awaited later. */
type EarlyInterpretation = Promise<{ ok: true; result: ReadyInterpretation } | { ok: false; error: unknown }> | undefined;

function interpretEarly(config: GatewayConfig, row: ClaimedMessage, interpreter: Interpreter): EarlyInterpretation {
  const partner = config.partners.get(row.partner_id);
  // X12 and EDIFACT stream (processX12, processEdifact).
  if (!partner || row.format === 'x12' || row.format === 'edifact' || !row.raw) return undefined;
  const job = { format: row.format, bytes: row.raw, ...wholeJobNames(row) };
  return interpreter.whole(config, partner, job).then(
    (result) => ({ ok: true as const, result }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

async function processOne(
  trx: Knex.Transaction,
  config: GatewayConfig,
  row: ClaimedMessage,
  interpreter: Interpreter,
  early?: EarlyInterpretation,
): Promise<Interpreted> {
  const partner = config.partners.get(row.partner_id);
  if (!partner) {
    const problem: Problem = {
      code: 'GW_CONFIG_REFERENCE',
      message: `Partner ${row.partner_id} is no longer configured; restore its profile and replay the message.`,
    };
    await finishInterpretation(trx, row.id, 'failed', [problem]);
    await recordEvents(trx, [{ message_id: row.id, type: 'failed', code: problem.code, detail: problem.message }]);
    return { row, state: 'failed', documents: [], numbers: [], problems: [problem] };
  }
  const { format } = row;
  if (format === 'x12') return processX12(trx, config, partner, row, interpreter);
  if (format === 'edifact') return processEdifact(trx, config, partner, row, interpreter);
  const result = await interpretWhole(trx, config, partner, { ...row, format }, interpreter, early);
  await recordEvents(trx, [interpretedEvent(row, result)]);
  const writer = new DocumentWriter(trx, partner, row);
  for (const doc of result.documents) writer.add(doc);
  await writer.flush();
  return settle(trx, row, result.problems, { duplicates: 0, reconciled: 0 }, writer.numbers);
}

async function interpretWhole(
  trx: Knex.Transaction,
  config: GatewayConfig,
  partner: PartnerProfile,
  row: ClaimedMessage & { format: Exclude<SourceFormat, StreamFormat> },
  interpreter: Interpreter,
  early: EarlyInterpretation,
): Promise<ReadyInterpretation> {
  const started = await early;
  if (started?.ok) return started.result;
  if (started) throw started.error;
  const parts: Buffer[] = [];
  for await (const part of readRaw(trx, row)) parts.push(part);
  const raw = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  return interpreter.whole(config, partner, { format: row.format, bytes: raw, ...wholeJobNames(row) });
}

/** What the interpreter reads of a message beside its bytes: its file name and content type. */
function wholeJobNames(row: ClaimedMessage): { fileName?: string; contentType?: string } {
  return { ...(row.file_name ? { fileName: row.file_name } : {}), ...(row.content_type ? { contentType: row.content_type } : {}) };
}

interface OpenInterchange {
  header: X12InterchangeHeader;
  refused: boolean;
  duplicate: 'reject' | 'acknowledge' | undefined;
  /** Sequence numbers of the documents of the interchange and of its current group (bounded memory). */
  firstSeq: number;
  groupFirstSeq: number;
  lastSeq: number;
}

async function processX12(
  trx: Knex.Transaction,
  config: GatewayConfig,
  partner: PartnerProfile,
  row: ClaimedMessage,
  interpreter: Interpreter,
): Promise<Interpreted> {
  const writer = new DocumentWriter(trx, partner, row);
  const problems: Problem[] = [];
  const counts = { documents: 0, interchanges: 0, duplicates: 0, reconciled: 0 };
  let ic: OpenInterchange | undefined;
  let lastSeq = 0;
  // What the 997/999 of the open interchange says of each set, by the line of its GS.
  let acked = new Map<number, GroupReport['sets']>();
  const shared = new Map<string, unknown>();

  const handle = async (item: ReadyX12Item): Promise<void> => {
    switch (item.kind) {
      case 'interchange': {
        counts.interchanges++;
        if (item.refused) problems.push(item.refused);
        const duplicate = item.refused || item.header.problems.length ? undefined : await claimInterchange(trx, partner, item.header, row.id);
        if (duplicate) {
          counts.duplicates++;
          await recordEvents(trx, [
            {
              message_id: row.id,
              type: 'duplicate',
              code: 'GW_X12_DUPLICATE',
              detail:
                `Interchange ${item.header.control} from ${item.header.sender.qualifier}/${item.header.sender.id} was received before (message ` +
                `${duplicate.messageId}, ${duplicate.seenAt.toISOString()}); policy ${partner.x12.duplicates.policy}: not delivered again`,
              data: { originalMessageId: duplicate.messageId },
            },
          ]);
        }
        ic = {
          header: item.header,
          refused: Boolean(item.refused),
          duplicate: duplicate ? partner.x12.duplicates.policy : undefined,
          firstSeq: lastSeq + 1,
          groupFirstSeq: lastSeq + 1,
          lastSeq,
        };
        return;
      }
      case 'document': {
        counts.documents++;
        if (item.set) {
          const { group, ...entry } = item.set;
          const sets = acked.get(group);
          if (sets) sets.push(compactSet(entry, shared));
          else acked.set(group, [compactSet(entry, shared)]);
        }
        writer.add(item.doc, Boolean(ic?.duplicate));
        lastSeq = item.doc.seq;
        if (ic) ic.lastSeq = lastSeq;
        if (writer.size >= WRITE_BATCH) await writer.write();
        return;
      }
      case 'functional-ack': {
        if (ic?.duplicate) return;
        await writer.flush();
        if (await reconcileFunctionalAck(trx, partner.id, row.id, item.ack)) counts.reconciled++;
        return;
      }
      case 'group-end': {
        const { report } = item;
        if (report.problems.length && ic && !ic.duplicate) {
          problems.push(...report.problems);
          await writer.reject(
            ic.groupFirstSeq,
            ic.lastSeq,
            report.problems,
            `functional group ${report.header.control} is rejected: ${report.problems.map((p) => p.message).join(' ')}`,
          );
        }
        if (ic) ic.groupFirstSeq = ic.lastSeq + 1;
        return;
      }
      case 'interchange-end': {
        const report = { ...item.report, groups: item.report.groups.map((g) => ({ ...g, sets: acked.get(g.header.line) ?? [] })) };
        acked = new Map();
        if (!ic) return;
        await writer.flush();
        if (report.problems.length && !ic.refused) {
          problems.push(...report.problems);
          await writer.reject(
            ic.firstSeq,
            ic.lastSeq,
            report.problems,
            `interchange ${report.header.control} is rejected: ${report.problems.map((p) => p.message).join(' ')}`,
          );
        }
        if (!ic.duplicate)
          for (const ta1 of report.ta1) {
            await reconcileTa1(trx, partner.id, row.id, ta1);
            counts.reconciled++;
          }
        await acknowledge(trx, partner, row, report, ic.duplicate);
        ic = undefined;
        return;
      }
      case 'fatal':
        problems.push(item.problem);
        return;
    }
  };

  await pumpStream(trx, row, await interpreter.x12(config, partner), handle, writer);
  await writer.flush();
  await recordEvents(trx, [
    {
      message_id: row.id,
      type: 'interpreted',
      detail: [
        `x12: ${counts.interchanges} interchange(s), ${counts.documents} document(s)`,
        ...(counts.duplicates ? [`${counts.duplicates} duplicate interchange(s)`] : []),
        ...(counts.reconciled ? [`${counts.reconciled} acknowledgment(s) reconciled`] : []),
        ...(problems.length ? [`${problems.length} envelope problem(s)`] : []),
      ].join(', '),
    },
  ]);
  return settle(trx, row, problems, counts, writer.numbers);
}

/**
 * A set's 997/999 line as kept until its interchange ends. Every value crossed from the worker as
 * its own copy; equal problems (code and position) and set ids are shared through `shared` (one
 * per message), and sets without problems share one empty list: for 200,000 sets, a few tens of
 * MB instead of about a hundred.
 */
function compactSet(entry: GroupReport['sets'][number], shared: Map<string, unknown>): GroupReport['sets'][number] {
  const one = <T>(key: string, value: T): T => {
    const known = shared.get(key) as T | undefined;
    if (known !== undefined) return known;
    shared.set(key, value);
    return value;
  };
  const problems = entry.problems.length === 0 ? NO_PROBLEMS : entry.problems.map((p) => one(JSON.stringify([p.code, p.location, p.x12]), p));
  return {
    id: one(`id:${entry.id}`, entry.id),
    control: entry.control,
    ...(entry.implementation ? { implementation: one(`id:${entry.implementation}`, entry.implementation) } : {}),
    problems,
  };
}

const NO_PROBLEMS: Problem[] = Object.freeze([]) as unknown as Problem[];

/**
 * Records the interchange as seen; returns the earlier sighting when it is a duplicate (same partner,
 * sender and ISA13 within the window). Concurrent copies serialize on the primary key: the second
 * waits for the first to commit and then sees it. The message itself (a replay) is no duplicate.
 */
async function claimInterchange(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  h: X12InterchangeHeader,
  messageId: string,
): Promise<{ messageId: string; seenAt: Date } | undefined> {
  const days = partner.x12.duplicates.windowDays;
  if (days === 0) return undefined;
  const claimed = await trx.raw<{ rows: unknown[] }>(
    `INSERT INTO x12_interchanges (partner_id, sender_qualifier, sender_id, control, message_id) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (partner_id, sender_qualifier, sender_id, control) DO UPDATE SET message_id = excluded.message_id, seen_at = now()
       WHERE x12_interchanges.seen_at < now() - make_interval(days => ?) OR x12_interchanges.message_id = excluded.message_id
     RETURNING message_id`,
    [partner.id, h.sender.qualifier, h.sender.id, h.control, messageId, days],
  );
  if (claimed.rows.length) return undefined;
  const earlier = await trx('x12_interchanges')
    .select('message_id', 'seen_at')
    .where({ partner_id: partner.id, sender_qualifier: h.sender.qualifier, sender_id: h.sender.id, control: h.control })
    .first();
  return { messageId: earlier.message_id, seenAt: new Date(earlier.seen_at) };
}

/** Builds and stores the TA1/997/999 for an inbound interchange, in the partner's mailbox. */
async function acknowledge(
  trx: Knex.Transaction,
  partner: PartnerProfile,
  row: ClaimedMessage,
  report: InterchangeReport,
  duplicate: 'reject' | 'acknowledge' | undefined,
): Promise<void> {
  const plan = planAck(report, partner.x12.acknowledgments, duplicate);
  if (!plan) return;
  const controls = await reserveEnvelopeControls(trx, partner.id, plan.groups.length, ackSetCount(plan));
  const { interchange, options } = ackInterchange(plan, controls, new Date(), LINE_BREAKS[partner.x12.outbound.lineBreak]);
  // Written a few thousand segments at a time, so a 997 for a huge group does not hold the event
  // loop; each run is joined at once, so the heap holds a few hundred strings, not a million.
  const chunks: string[] = [];
  let run: string[] = [];
  for (const part of interchangeText(interchange, options)) {
    if (run.push(part) < 2000) continue;
    chunks.push(run.join(''));
    run = [];
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  chunks.push(run.join(''));
  const text = chunks.join('');
  const docType = plan.groups[0]?.type ?? 'TA1';
  const ack = await storeOutbound(trx, {
    partner,
    docType,
    text,
    relatedMessageId: row.id,
    correlationId: row.correlation_id,
    isaControl: controls.isa,
    ...(controls.gs[0] ? { groupControl: controls.gs[0] } : {}),
  });
  await recordEvents(trx, [
    {
      message_id: row.id,
      type: 'ack.generated',
      detail: `ISA ${report.header.control} answered by ${plan.summary}`,
      data: { ackMessageId: ack.id, fileName: ack.fileName },
    },
  ]);
}
