import type { Knex } from 'knex';
import { type SearchPage, searchMessages } from './message-search.js';

/**
 * What a supplier sent, as the portal lists it (issue 18): the operators' search (decision 0024)
 * with the partner and the direction fixed by the caller's session, never by what a browser sends;
 * beside each message, the acknowledgments (TA1, 997, 999) the gateway sent back for it.
 */
export interface SubmissionPage extends SearchPage {
  /** By message id: the acknowledgments sent for it, oldest first. */
  acknowledgmentsSent: Map<string, { type: string; state: string }[]>;
}

export async function listSubmissions(knex: Knex, partnerId: string, limit: number, cursor?: string): Promise<SubmissionPage> {
  const page = await searchMessages(knex, { partner: partnerId, direction: 'inbound' }, limit, cursor);
  const ids = page.messages.map((m) => m.id);
  const rows: { related_message_id: string; doc_type: string; state: string }[] = ids.length
    ? await knex('messages')
        .select('related_message_id', 'doc_type', 'state')
        .where({ partner_id: partnerId, direction: 'outbound' })
        .whereIn('related_message_id', ids)
        .orderBy('received_at')
    : [];
  const acknowledgmentsSent = new Map<string, { type: string; state: string }[]>();
  for (const r of rows)
    acknowledgmentsSent.set(r.related_message_id, [...(acknowledgmentsSent.get(r.related_message_id) ?? []), { type: r.doc_type, state: r.state }]);
  return { ...page, acknowledgmentsSent };
}
