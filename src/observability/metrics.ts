import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { ERROR_CODES } from '../errors.js';

/** A label value for anything outside the bounded sets below (an unknown partner, a code not in the catalogue). */
export const OTHER = 'other';

/** What a message is labelled with: who sent it, over which door, in which syntax. */
export interface MessageLabels {
  partnerId: string;
  channel: string;
  format: string;
}

/** Documents of one message that ended in one state, grouped by type and first problem code. */
export interface DocumentCount {
  type: string | null;
  state: string;
  code: string | null;
  n: number;
}

/** A delivery as its counters see it: where it went and by which kind of transport. */
export interface DeliveryLabels {
  targetId: string;
  kind: string;
}

/** One series of a gauge read at scrape time. */
export interface GaugeValue {
  labels?: Record<string, string>;
  value: number;
}

/** Reads a gauge's current series when Prometheus scrapes; none (an empty list) hides the gauge. */
export type GaugeSource = () => Promise<GaugeValue[]> | GaugeValue[];

/** Seconds from a message's receipt to its delivery: from sub-second to a day of retries. */
const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600];

/**
 * The gateway's Prometheus metrics (docs/metrics.md), in a registry of their own. Counters move
 * where their event happens, after its transaction committed; gauges that the database knows are
 * read at scrape time through `gauge` sources, never on the hot path. Every label comes from a
 * bounded set: partners that are configured, error codes of the catalogue, targets of the routes.
 * No message id is ever a label.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  /** Counts renders: gauges that share one query read it once per scrape (store-gauges.ts). */
  scrapes = 0;
  private readonly received: Counter;
  private readonly rejected: Counter;
  private readonly duplicates: Counter;
  private readonly accepted: Counter;
  private readonly refused: Counter;
  private readonly attempts: Counter;
  private readonly delivered: Counter;
  private readonly failures: Counter;
  private readonly dead: Counter;
  private readonly latency: Histogram;

  /** `partners` says which partner ids may be labels; any other is counted as `other`. */
  constructor(private readonly partners: (id: string) => boolean = () => true) {
    const counter = (name: string, help: string, labelNames: string[]) => new Counter({ name, help, labelNames, registers: [this.registry] });
    const message = ['partner', 'channel', 'format'];
    this.received = counter('gateway_messages_received_total', 'Messages stored as received (a repeat at the door is not counted here).', message);
    this.rejected = counter('gateway_messages_rejected_total', 'Messages that ended rejected: at the door (AS2) or when interpreted.', message);
    this.duplicates = counter('gateway_messages_duplicate_total', 'Messages that repeated an earlier one: a door repeat, or a duplicate X12 interchange.', [
      ...message,
      'detected',
    ]);
    this.accepted = counter('gateway_documents_accepted_total', 'Documents accepted (mapped and valid), by partner and canonical type.', ['partner', 'type']);
    this.refused = counter('gateway_documents_rejected_total', 'Documents rejected, by the error code of their first problem.', ['partner', 'type', 'code']);
    const delivery = ['target', 'kind'];
    this.attempts = counter('gateway_delivery_attempts_total', 'Delivery attempts sent to a target (each claim is an attempt).', delivery);
    this.delivered = counter('gateway_deliveries_delivered_total', 'Deliveries a target accepted.', delivery);
    this.failures = counter('gateway_delivery_failures_total', 'Failed delivery attempts, by error code (retried or dead-lettered).', [...delivery, 'code']);
    this.dead = counter('gateway_deliveries_dead_total', 'Deliveries moved to dead letter, by the error code of their last attempt.', [...delivery, 'code']);
    this.latency = new Histogram({
      name: 'gateway_delivery_latency_seconds',
      help: 'Seconds from the message being received to its delivery being accepted by the target.',
      labelNames: delivery,
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** A label value for a partner id: the id when it is configured, `other` otherwise. */
  partner(id: string): string {
    return this.partners(id) ? id : OTHER;
  }

  private messageLabels(m: MessageLabels) {
    return { partner: this.partner(m.partnerId), channel: m.channel, format: m.format };
  }

  messageReceived(m: MessageLabels): void {
    this.received.inc(this.messageLabels(m));
  }

  messageRejected(m: MessageLabels): void {
    this.rejected.inc(this.messageLabels(m));
  }

  /** `detected`: `door` (an Idempotency-Key or AS2 Message-ID seen before) or `interchange` (an X12 control number seen before). */
  messageDuplicate(m: MessageLabels, detected: 'door' | 'interchange'): void {
    this.duplicates.inc({ ...this.messageLabels(m), detected });
  }

  /** Counts a message's accepted and rejected documents (duplicates of a repeated interchange are not counted). */
  documentsInterpreted(partnerId: string, counts: readonly DocumentCount[]): void {
    const partner = this.partner(partnerId);
    for (const c of counts) {
      const type = c.type ?? 'unknown';
      if (c.state === 'accepted') this.accepted.inc({ partner, type }, c.n);
      else if (c.state === 'rejected') this.refused.inc({ partner, type, code: errorCodeLabel(c.code) }, c.n);
    }
  }

  deliveryAttempted(d: DeliveryLabels): void {
    this.attempts.inc({ target: d.targetId, kind: d.kind });
  }

  /** A delivery the target accepted; its latency is measured from `receivedAt`, when known. */
  deliveryDelivered(d: DeliveryLabels, receivedAt?: Date): void {
    const labels = { target: d.targetId, kind: d.kind };
    this.delivered.inc(labels);
    if (receivedAt) this.latency.observe(labels, Math.max(0, (Date.now() - receivedAt.getTime()) / 1000));
  }

  deliveryFailed(d: DeliveryLabels, code: string, dead: boolean): void {
    const labels = { target: d.targetId, kind: d.kind, code: errorCodeLabel(code) };
    this.failures.inc(labels);
    if (dead) this.dead.inc(labels);
  }

  /**
   * Registers a gauge whose series `source` reads at scrape time (a cheap indexed query, or a count
   * the process holds). A source that fails leaves the gauge empty for that scrape rather than
   * stale, and says why through `onError`.
   */
  gauge(name: string, help: string, labelNames: readonly string[], source: GaugeSource, onError?: (name: string, err: Error) => void): void {
    new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [this.registry],
      async collect() {
        this.reset();
        try {
          for (const v of await source()) this.set(v.labels ?? {}, v.value);
        } catch (err) {
          onError?.(name, err as Error);
        }
      },
    });
  }

  /** SSH connections open to this process's SFTP door, counted by the door itself. */
  registerSftpSessions(connections: () => number): void {
    this.gauge('gateway_sftp_sessions', 'SSH connections open to the SFTP door (logged in or not yet).', [], () => [{ value: connections() }]);
  }

  /** The exposition text, and its content type. */
  async render(): Promise<{ contentType: string; text: string }> {
    this.scrapes++;
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** An error code as a label: a code of the catalogue (src/errors.ts), `other` for anything else. */
export function errorCodeLabel(code: string | null | undefined): string {
  return code && Object.hasOwn(ERROR_CODES, code) ? code : OTHER;
}
