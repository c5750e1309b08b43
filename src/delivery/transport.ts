import type { Knex } from 'knex';
import type { CanonicalDocument } from '../canonical/index.js';
import type { CurrentEventType } from '../observability/events.js';
import type { DeliveryState, Target } from '../types.js';
import type { GatewayError } from '../errors.js';
import type { EventOutType } from './subscriptions.js';

/**
 * Where a delivery goes. The ERP's targets come from partner routes (`http`, `file`); the others are
 * transfers to partners: an AS2 send with its MDN (`as2`), a push to the partner's SFTP server
 * (`sftp`), an asynchronous MDN we owe (`as2-mdn`, `record` is its as2_messages row). Push targets
 * carry no settings: the transport reads the partner's profile at send time, so a rotated
 * certificate or a new URL applies to what is queued.
 */
export type OutboxTarget =
  | Target
  | { kind: 'as2'; id: string }
  | { kind: 'sftp'; id: string }
  | { kind: 'as2-mdn'; id: string; url: string; record: string }
  | EventTarget;

/**
 * An event subscription (decision 0037): its URL and secret are read at send time, so a removed
 * subscription's queued events fail instead of going out.
 */
export interface EventTarget {
  kind: 'event';
  id: string;
  subscription: string;
}

/** What an event subscriber receives: the body of the signed POST. `id` is the event's idempotency key. */
export interface EventEnvelope {
  id: string;
  type: EventOutType;
  occurredAt: string;
  /** The partner the event concerns; null for the gateway's own (an ERP credential expiring). */
  partnerId: string | null;
  data: Record<string, unknown>;
}

export type TargetKind = OutboxTarget['kind'];

/** The facts of an ERP delivery's document: what the envelope carries. */
export interface DocumentFacts {
  id: string;
  type: string;
  schemaVersion: number;
  profile: { id: string; version: number };
  documentNumber: string | null;
  /** As stored when the document was accepted (checked against its schema then). */
  canonical: CanonicalDocument;
}

/** One claimed row of the outbox: what a transport needs to send it. */
export interface OutboxItem {
  id: string;
  /** '' only for an event about no message (decision 0037). */
  messageId: string;
  /** '' only for an event about no partner. */
  partnerId: string;
  targetId: string;
  target: OutboxTarget;
  idempotencyKey: string;
  /** This attempt's number (the claim counted it). */
  attempts: number;
  maxAttempts: number | null;
  /** The message's ('' for an event about no message). */
  correlationId: string;
  /** When its message was received: a delivery's latency is measured from it. */
  receivedAt?: Date;
  /** ERP deliveries only. */
  document: DocumentFacts | null;
  /** Event deliveries only: what is posted. */
  event: EventEnvelope | null;
  /** This delivery probes a paused target (the breaker is half-open). */
  probe: boolean;
}

/** A line for the message's timeline that a transport adds to its outcome (`as2.sent`, `as2.mdn-processed` …). */
export interface TimelineNote {
  /** A type the catalogue (src/observability/events.ts) says a delivery's events may carry. */
  type: CurrentEventType;
  detail: string;
  code?: string;
}

/** What every outcome may add: timeline lines, and writes of the transport's own records. */
interface OutcomeExtras {
  notes?: TimelineNote[];
  /** Runs in the transaction that records the outcome (only if the delivery is still held), e.g. the AS2 record's MDN. */
  effects?: (trx: Knex.Transaction) => Promise<void>;
}

/**
 * What one attempt came to. `failed` carries a GatewayError whose catalogue entry says whether a
 * retry may help; the worker decides between another attempt and dead letter.
 */
export type Outcome =
  | ({ status: 'delivered'; detail: string } & OutcomeExtras)
  | ({ status: 'waiting'; detail: string; until: Date } & OutcomeExtras)
  | ({ status: 'failed'; error: GatewayError } & OutcomeExtras);

/**
 * A target kind: one function that sends, and what a final outcome means for the message, run in
 * the transaction that records it. A transport keeps no queue and no retry loop of its own.
 */
export interface Transport {
  send(item: OutboxItem): Promise<Outcome>;
  /** What a final outcome means for the messages of these items (delivered ones come in batches). */
  settle(trx: Knex.Transaction, items: readonly OutboxItem[], state: FinalDeliveryState): Promise<void>;
}

/** The states a delivery ends in (until a replay). */
export type FinalDeliveryState = Extract<DeliveryState, 'delivered' | 'dead'>;

export type Transports = Readonly<Record<TargetKind, Transport>>;
