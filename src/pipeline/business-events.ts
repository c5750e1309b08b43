import type { Knex } from 'knex';
import { recordEvents, type TimelineEvent } from '../observability/events.js';

/**
 * The business events of purchase orders and tolerance exceptions (decision 0036): an exception
 * raised or resolved, a PO whose status changed. Every place that makes one calls
 * `noteBusinessEvent` in its transaction; today it writes the timeline, and it is the one seam where
 * events for subscribers (webhooks out) are to be queued as well.
 */
export type BusinessEvent =
  | {
      type: 'exception.raised';
      partnerId: string;
      messageId: string;
      documentId: string;
      detail: string;
      data: { exceptionId: string; rule: string; action: string; facts: Record<string, unknown>; poNumber?: string | null };
    }
  | {
      type: 'exception.resolved';
      partnerId: string;
      messageId: string;
      documentId: string;
      detail: string;
      data: { exceptionId: string; rule: string; state: 'resolved' | 'waived'; by: string; note?: string | null };
    }
  | {
      type: 'po.status-changed';
      partnerId: string;
      messageId?: string;
      documentId?: string;
      detail: string;
      data: { poNumber: string; from: string | null; to: string };
    };

/** Notes business events on the timeline, in the caller's transaction. */
export async function noteBusinessEvent(trx: Knex.Transaction, ...events: readonly BusinessEvent[]): Promise<void> {
  await recordEvents(trx, events.map(timelineEvent));
}

function timelineEvent(e: BusinessEvent): TimelineEvent {
  const on = { partner_id: e.partnerId, detail: e.detail };
  switch (e.type) {
    case 'exception.raised':
      return { ...on, type: e.type, message_id: e.messageId, document_id: e.documentId, data: e.data };
    case 'exception.resolved':
      return { ...on, type: e.type, message_id: e.messageId, document_id: e.documentId, data: e.data };
    case 'po.status-changed':
      return {
        ...on,
        type: e.type,
        ...(e.messageId ? { message_id: e.messageId } : {}),
        ...(e.documentId ? { document_id: e.documentId } : {}),
        data: e.data,
      };
  }
}
