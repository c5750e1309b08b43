import type { Knex } from 'knex';
import type { Problem } from '../errors.js';
import { recordEvents } from '../observability/events.js';
import type { ClaimedMessage } from './document-records.js';
import type { Interpreted } from './interpreted-report.js';
import { finishInterpretation } from './messages.js';
import { messageOutcome, messageProblemEvents, REJECTED_DOCUMENTS_SHOWN } from './process-whole.js';

/** The message's final state from what its documents became; returns it with its documents counted. */
export async function settle(
  trx: Knex.Transaction,
  row: ClaimedMessage,
  problems: Problem[],
  counts: { duplicates: number; reconciled: number },
  numbers: string[],
): Promise<Interpreted> {
  const firstCode = trx.raw(`problems->0->>'code'`);
  const groups: { state: string; type: string | null; code: string | null; n: string }[] = await trx('documents')
    .select('state', 'type', trx.raw(`problems->0->>'code' AS code`))
    .count({ n: '*' })
    .where('message_id', row.id)
    .groupBy('state', 'type', firstCode);
  const documents = groups.map((g) => ({ state: g.state, type: g.type, code: g.state === 'rejected' ? g.code : null, n: Number(g.n) }));
  const n = (s: string) => documents.filter((d) => d.state === s).reduce((sum, d) => sum + d.n, 0);
  if (problems.length) await recordEvents(trx, messageProblemEvents(row, problems));
  const outcome = messageOutcome({ accepted: n('accepted'), rejected: n('rejected'), ...counts }, problems);
  const why = outcome.problems ?? (await rejectedDocumentProblems(trx, row.id));
  await finishInterpretation(trx, row.id, outcome.state, why);
  return { row, state: outcome.state, documents, numbers, problems: why };
}

async function rejectedDocumentProblems(trx: Knex.Transaction, messageId: string): Promise<Problem[]> {
  const docs: { problems: Problem[] }[] = await trx('documents')
    .select('problems')
    .where({ message_id: messageId, state: 'rejected' })
    .orderBy('seq')
    .limit(REJECTED_DOCUMENTS_SHOWN);
  return docs.flatMap((d) => d.problems);
}
