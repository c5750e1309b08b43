import type { Knex } from 'knex';
import { type BusinessEvent as OutboundEvent, publishEvents, stableEventId } from '../delivery/events-out.js';
import { recordEvents, type TimelineEvent } from '../observability/events.js';

/**
 * The business events of purchase orders and tolerance exceptions (decision 0036): an exception
 * raised or resolved, a PO whose status changed. Every place that makes one calls
 * `noteBusinessEvent` in its transaction: it writes the timeline and queues the events for their
 * subscribers (decision 0037) in that same transaction.
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

/** Notes business events on the timeline and queues them for their subscribers, in the caller's transaction. */
export async function noteBusinessEvent(trx: Knex.Transaction, ...events: readonly BusinessEvent[]): Promise<void> {
  await recordEvents(trx, events.map(timelineEvent));
  await publishEvents(trx, events.map(outboundEvent));
}

/** The event for subscribers; its id derives from the fact, so noting it twice sends it once. */
function outboundEvent(e: BusinessEvent): OutboundEvent {
  const fact =
    e.type === 'po.status-changed'
      ? [e.partnerId, e.data.poNumber, e.data.from ?? '', e.data.to, e.documentId ?? '']
      : e.type === 'exception.resolved'
        ? [e.data.exceptionId, e.data.state]
        : [e.data.exceptionId];
  return {
    id: stableEventId(e.type, ...fact),
    type: e.type,
    partnerId: e.partnerId,
    ...(e.messageId ? { messageId: e.messageId } : {}),
    data: { ...e.data, ...(e.messageId ? { messageId: e.messageId } : {}), ...(e.documentId ? { documentId: e.documentId } : {}) },
  };
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
