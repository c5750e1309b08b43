import type { Logger } from 'pino';
import type { Problem } from '../errors.js';
import type { DocumentCount, GatewayMetrics } from '../observability/metrics.js';
import type { MessageState } from '../types.js';
import type { ClaimedMessage } from './document-records.js';

/** Business numbers a log line names at most: enough to find the documents, bounded for a large interchange. */
export const NUMBERS_LOGGED = 5;

/** What interpreting one message came to, as its log line and counters tell it (kept until the batch commits). */
export interface Interpreted {
  row: ClaimedMessage;
  state: MessageState;
  /** Its documents, grouped by state, type and first problem code. */
  documents: DocumentCount[];
  /** The first document numbers of the message (up to NUMBERS_LOGGED). */
  numbers: string[];
  /** Why, when it was rejected or failed. */
  problems: readonly Problem[];
}

/** The first few document numbers among `numbers` (nulls skipped), for a log line. */
export function firstNumbers(numbers: Iterable<string | null | undefined>): string[] {
  const out: string[] = [];
  for (const n of numbers) {
    if (n && !out.includes(n)) out.push(n);
    if (out.length >= NUMBERS_LOGGED) break;
  }
  return out;
}

/** Documents grouped as the counters take them. */
export function countDocuments(documents: readonly { type: string | null; state: string; problems: string | readonly Problem[] }[]): DocumentCount[] {
  const by = new Map<string, DocumentCount>();
  for (const d of documents) {
    const problems = typeof d.problems === 'string' ? (JSON.parse(d.problems) as Problem[]) : d.problems;
    const code = d.state === 'rejected' ? (problems[0]?.code ?? null) : null;
    const key = `${d.state}\n${d.type}\n${code}`;
    const seen = by.get(key);
    if (seen) seen.n++;
    else by.set(key, { type: d.type, state: d.state, code, n: 1 });
  }
  return [...by.values()];
}

/**
 * Once the batch that interpreted them committed: each message's documents are counted, and a
 * rejected or duplicate message gets its one info line and its counter (a failed one was logged
 * as an error where it failed).
 */
export function reportInterpreted(log: Logger, metrics: GatewayMetrics | undefined, outcomes: readonly Interpreted[]): void {
  for (const o of outcomes) {
    const labels = { partnerId: o.row.partner_id, channel: o.row.channel ?? 'unknown', format: o.row.format };
    metrics?.documentsInterpreted(o.row.partner_id, o.documents);
    const line = {
      partner: o.row.partner_id,
      messageId: o.row.id,
      correlationId: o.row.correlation_id,
      channel: o.row.channel,
      format: o.row.format,
      ...(o.numbers.length ? { documentNumbers: o.numbers } : {}),
    };
    if (o.state === 'rejected') {
      metrics?.messageRejected(labels);
      const codes = [...new Set(o.problems.map((p) => p.code))].slice(0, NUMBERS_LOGGED);
      log.info({ ...line, codes, documents: tally(o.documents) }, 'message rejected');
    } else if (o.state === 'duplicate') {
      metrics?.messageDuplicate(labels, 'interchange');
      log.info({ ...line, detected: 'interchange' }, 'message duplicate: the X12 interchange was received before; not delivered again');
    }
  }
}

/** How many documents were accepted and rejected, for the log line. */
function tally(documents: readonly DocumentCount[]): { accepted: number; rejected: number } {
  const sum = (state: string) => documents.filter((d) => d.state === state).reduce((n, d) => n + d.n, 0);
  return { accepted: sum('accepted'), rejected: sum('rejected') };
}
