/**
 * Glossary
 *
 * - **message**: one submission exactly as a partner sent it over one channel (an HTTP body, a file,
 *   an AS2 payload). Its raw bytes are stored before the partner is told "accepted".
 * - **interchange**: an X12 envelope (ISA … IEA) inside a message; a message may hold several.
 * - **functional group**: GS … GE inside an interchange; groups transaction sets of one kind.
 * - **transaction set**: ST … SE, one business document in X12 (856 ship notice, 810 invoice).
 * - **canonical document**: the partner-independent JSON form of one business document (`asn`,
 *   `invoice`), valid against a versioned JSON Schema in src/canonical/.
 * - **mapping profile**: the declarative YAML that turns one partner's document format into a
 *   canonical document (mappings/<partner>/<name>.yaml).
 * - **partner profile**: the YAML describing one trading partner: identifiers, channels,
 *   credentials (hashes only), the documents it sends and the routes they take (partners/<id>.yaml).
 * - **route**: a rule in a partner profile that sends canonical documents of some types to a target.
 * - **target**: where deliveries go: an HTTP ERP endpoint, a file-drop folder, a RabbitMQ exchange or
 *   a NATS JetStream subject.
 * - **delivery**: one row of the outbox: this document to that target, with attempts, a stable
 *   idempotency key and the last error.
 * - **timeline**: the events recorded for a message (received, interpreted, mapped, rejected,
 *   routed, delivery attempts …). Status pages read it; nothing guesses. Every event type is
 *   declared in src/observability/events.ts and listed in docs/events.md.
 * - **correlation id**: an id the partner may send (X-Correlation-Id) or the gateway assigns; it
 *   follows the message to the ERP.
 */

export type DocumentType = 'asn' | 'invoice' | 'purchase-order' | 'po-ack' | 'inventory' | 'price-list';
export type SourceFormat = 'x12' | 'edifact' | 'json' | 'xml' | 'csv';
export type Channel = 'rest' | 'sftp' | 'as2' | 'webhook';
/** The door a message came in by: a partner's channel, or the portal's upload form (a supplier user, issue 18). */
export type MessageChannel = Channel | 'portal';

export type PartnerState = 'onboarding' | 'testing' | 'live' | 'suspended';

/** Intake refuses a partner suspended in its profile (the operator's brake) or in the database. */
export function isSuspended(p: { state: PartnerState; lifecycle?: PartnerState }): boolean {
  return p.state === 'suspended' || p.lifecycle === 'suspended';
}

export type MessageState =
  /** Raw bytes committed; waiting for interpretation. */
  | 'received'
  /** Interpreted; every accepted document has its deliveries queued (or an `unrouted` event when no route takes its type). */
  | 'routed'
  /** Every delivery of every document reached its target. */
  | 'delivered'
  /** Nothing in it could be accepted (bad envelope, every document rejected). */
  | 'rejected'
  /** An unexpected error stopped processing; replayable. */
  | 'failed'
  /** A delivery exhausted its attempts; replayable. */
  | 'dead'
  /** Interpreted; nothing to deliver (e.g. acknowledgments reconciled with what we sent). */
  | 'processed'
  /** Every interchange in it repeats one received before: answered, not delivered again. */
  | 'duplicate'
  /** Outbound: waiting in the partner's mailbox. */
  | 'ready'
  /** Outbound: the partner has taken it from its mailbox. */
  | 'collected';

/**
 * A delivery's state: `pending` (due at its next attempt), `delivering` (claimed, in flight),
 * `waiting` (sent; its answer, an asynchronous MDN, is awaited until the next attempt), `delivered`,
 * `dead` (dead letter, replayable).
 */
export type DeliveryState = 'pending' | 'delivering' | 'waiting' | 'delivered' | 'dead';

export interface ApiKeyRef {
  /** The identifiable prefix part of the key (`gw_<id>_…`). */
  id: string;
  /** Hex SHA-256 of the whole key. Keys are 256-bit random, so a fast hash is the right tool. */
  sha256: string;
  expires?: string;
  /** Narrows what the key may do (default: the partner's allowed scopes). */
  scopes?: string[];
}

export interface FileTarget {
  id: string;
  kind: 'file';
  dir: string;
}

export interface HttpTarget {
  id: string;
  kind: 'http';
  url: string;
  timeoutMs: number;
  headers?: Record<string, string>;
}

/** A login to a broker: the password is read from the named environment variable, never written in the profile. */
export interface BrokerLogin {
  username?: string;
  passwordEnv?: string;
}

/**
 * An entry of an event subscribers' allow-list (decision 0037): a URL, or a broker URL with the
 * login the gateway uses there. The login is configuration's, never a subscriber's (decision 0038,
 * "Broker subscribers").
 */
export type AllowedUrl = string | ({ url: string } & BrokerLogin);

/** A RabbitMQ (AMQP 0-9-1) exchange: published persistent, with publisher confirms (docs/delivery.md). */
export interface AmqpTarget extends BrokerLogin {
  id: string;
  kind: 'amqp';
  /** `amqp://host:5672/vhost` or `amqps://…`, without a password. */
  url: string;
  exchange: string;
  routingKey: string;
  /** How long a connect or a confirm may take; default 10000. */
  timeoutMs?: number;
}

/** A NATS JetStream subject, captured by the named stream (its duplicate window de-duplicates by idempotency key). */
export interface NatsTarget extends BrokerLogin {
  id: string;
  kind: 'nats';
  servers: string[];
  subject: string;
  /** The stream expected to capture the subject: a publish another stream would take is refused. */
  stream: string;
  /** How long a connect or a publish acknowledgment may take; default 10000. */
  timeoutMs?: number;
}

export type Target = FileTarget | HttpTarget | AmqpTarget | NatsTarget;

export interface Route {
  types: DocumentType[];
  target: Target;
  /** A test route (decision 0034): takes the partner's documents while it is onboarding or testing, never once live. */
  test?: boolean;
  /** Attempts before a delivery is moved to dead letter; unset: only `retry.maxAgeSeconds` bounds it. */
  maxAttempts?: number;
  /** Overrides of the delivery defaults (DELIVERY_* settings) for this route. */
  retry?: { maxAgeSeconds?: number; backoffMs?: number; backoffMaxMs?: number };
  /** Circuit breaker of the target: pause after `failures` consecutive failures, probe after `coolDownMs`. */
  breaker?: { failures?: number; coolDownMs?: number };
}

export interface InboundDocument {
  type: DocumentType;
  /** Mapping profile id (path under mappings/ without .yaml). */
  mapping: string;
}

export interface X12Party {
  qualifier: string;
  id: string;
}

export interface X12Settings {
  /** Our ISA05/ISA06 when we send to this partner. */
  ourId?: X12Party;
  /** The partner's ISA07/ISA08 when we send; default: the first of identifiers.x12. */
  partnerId?: X12Party;
  acknowledgments: { functional: 'auto' | '997' | '999' | 'none'; ta1: 'requested' | 'always' | 'never' };
  duplicates: { windowDays: number; policy: 'reject' | 'acknowledge' };
  outbound: {
    version: string;
    delimiters: { element: string; component: string; segment: string; repetition: string };
    lineBreak: 'lf' | 'crlf' | 'none';
    usage: 'P' | 'T';
    requestTa1: boolean;
    ackWithinMinutes: number;
    fileName: string;
  };
  /** The partner's implementation guide per transaction set (src/formats/x12/guide.ts). */
  guides: Guide[];
}

/** A UNB/UNG party: id (0004, 0010) and its code qualifier (0007, 0007) when one is sent. */
export interface EdifactParty {
  id: string;
  qualifier?: string;
}

export interface EdifactSettings {
  /** Our UNB S003; when set, interchanges addressed to another recipient are refused. */
  ourId?: EdifactParty;
  /** When a CONTRL goes to the mailbox: requested (UNB 0031 = 1), always, never. */
  contrl: 'requested' | 'always' | 'never';
  /** What the CONTRL says: the syntax report (UCI 7/4 …) or a receipt only (UCI 8). */
  contrlReport: 'syntax' | 'receipt';
  /** A test interchange (UNB 0035 = 1): processed as any other, or refused with CONTRL error 25. */
  testInterchanges: 'accept' | 'refuse';
  duplicates: { windowDays: number };
  outbound: { lineBreak: 'lf' | 'crlf' | 'none'; fileName: string };
}

/** One element's rules in a partner's implementation guide. */
export interface GuideElement {
  required?: boolean;
  min?: number;
  max?: number;
  /** Allowed values. */
  codes?: string[];
}

/**
 * A partner's companion guide for one transaction set: which segments must be present and what
 * their elements may hold. Declared under `x12.guides` in the partner profile.
 */
export interface Guide {
  transaction: string;
  /** GS08 prefixes the guide applies to; all versions when absent. */
  versions?: string[];
  segments: Record<string, { required?: boolean; elements?: Record<string, GuideElement> }>;
}

export interface OutboundDocument {
  type: 'purchase-order';
  format: 'x12' | 'edifact' | 'xml' | 'json';
  /** The outbound mapping profile that renders it (source.format: canonical). */
  mapping: string;
  fileName?: string;
}

/** A public key a partner logs in to the hosted SFTP server with (authorized_keys line). */
export interface SshKeyRef {
  key: string;
  expires?: string;
  scopes?: string[];
}

/** OAuth 2.0 client settings of a partner (docs/security.md). */
export interface OAuthClient {
  /** The client_id the partner authenticates as (default: the partner id). */
  clientId: string;
  /** Tokens carry cnf.x5t#S256 of the TLS client certificate they were issued over, and need it. */
  certificateBound: boolean;
  /** The partner's client ids (or subjects) at the enterprise's own identity provider. */
  externalSubjects: string[];
}

/** TLS client certificates that identify the partner on the HTTPS port. */
export interface MtlsPins {
  /** Pinned certificates by SHA-256 fingerprint of the DER (hex, colons allowed). */
  certificates: { sha256: string; expires?: string }[];
  /** Or: any certificate issued by this CA (PEM file) with exactly this subject. */
  ca?: string;
  subject?: string;
}

/** A server the partner hosts, that the gateway picks files up from and delivers documents to. */
export interface RemoteSftp {
  host: string;
  port: number;
  username: string;
  /** Path of the private key the gateway logs in with. */
  privateKey: string;
  /** Pinned host keys (authorized_keys form); any other key refuses the connection. */
  hostKey: string[];
  pickup?: { dir: string; glob: string; after: 'delete' | 'move'; moveTo?: string; everySeconds: number };
  /** Pushes of mailbox documents: written as name + tempSuffix, then renamed; `maxAttempts` before dead letter (unset: the age bounds it). */
  delivery?: { dir: string; tempSuffix: string; maxAttempts?: number };
}

/** The AS2 agreement with a partner (RFC 4130). */
export interface As2Agreement {
  /** The partner's AS2 name (AS2-From on what it sends). */
  id: string;
  /** Our AS2 name in this agreement; default AS2_ID. */
  ourId?: string;
  /** PEM files with the partner's certificates (two during its rotation). */
  certificates: string[];
  requireSigned: boolean;
  requireEncrypted: boolean;
  /** URLs (or prefixes ending in /) asynchronous MDNs may be posted to. */
  asyncMdnUrls: string[];
  send?: {
    url: string;
    sign: 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'none';
    encrypt: 'aes128-cbc' | 'aes192-cbc' | 'aes256-cbc' | '3des' | 'none';
    keyTransport: 'rsa-pkcs1' | 'rsa-oaep';
    /** The hash of RSA-OAEP key transport (label and MGF1); sha1 is what most peers decrypt. */
    oaepHash: 'sha1' | 'sha256';
    compress: boolean;
    mdn: 'sync' | 'async' | 'none';
    signedMdn: boolean;
    subject: string;
    timeoutSeconds: number;
    /** Attempts before dead letter. */
    maxAttempts: number;
    /** With an asynchronous MDN: how long it is awaited before the message is sent again (same Message-ID). */
    mdnTimeoutSeconds: number;
  };
}

/** A GS1 company prefix (7 to 10 digits, leading zeros kept) and the SSCC extension digit used with it. */
export interface Gs1Numbers {
  companyPrefix: string;
  extensionDigit: number;
}

export interface PartnerProfile {
  id: string;
  name: string;
  /** The profile's `state` (YAML). Where the lifecycle stands is `lifecycle` (decision 0034). */
  state: PartnerState;
  /**
   * The state the database gives the partner, where the serving process has read it (the doors
   * refuse a partner suspended in either place; see isSuspended). Unset: as the profile says.
   */
  lifecycle?: PartnerState;
  channels: Channel[];
  identifiers: { x12?: X12Party[]; edifact?: EdifactParty[] };
  x12: X12Settings;
  edifact: EdifactSettings;
  credentials: { apiKeys: ApiKeyRef[]; sshKeys: SshKeyRef[]; sftpPassword?: string };
  inbound: InboundDocument[];
  /** Documents the ERP sends to this partner (rendered per the partner's format). */
  outbound: OutboundDocument[];
  routes: Route[];
  limits: { maxBytes: number; requestsPerMinute: number };
  /** Where the partner may register webhooks or broker subscribers for its own events (decision 0037). */
  events?: { urls: AllowedUrl[] };
  /** The scopes the partner may be granted at most (default: implied by inbound and outbound). */
  security?: { scopes?: string[] };
  oauth: OAuthClient;
  mtls?: MtlsPins;
  sftp?: { remote?: RemoteSftp };
  as2?: As2Agreement;
  /** The partner's GS1 company prefix, from which the gateway allocates its SSCCs (carton numbers). */
  gs1?: Gs1Numbers;
  /** Tolerance rules its po-acks, ship notices and invoices are checked against (decision 0036); none when absent. */
  tolerances?: Tolerances;
  /** Where the profile came from (for error messages). */
  file: string;
}

/** What a broken tolerance does to the document: delivered anyway (an exception is raised either way), or held for a person. */
export type RuleAction = 'deliver' | 'hold';

/**
 * A partner's tolerances (decision 0036, docs/business.md): each rule present is checked; a
 * document outside one raises an exception, and is held back from delivery when its action is `hold`.
 */
export interface Tolerances {
  /** A po-ack confirms, or ship notices ship in all, more than the line's quantity (confirmed, else ordered) by over `percent`. */
  quantityOver?: { percent: number; action: RuleAction };
  /** A po-ack confirms less than ordered by over `percent`. */
  quantityUnder?: { percent: number; action: RuleAction };
  /** A ship notice's ship date is more than `days` after the date the po-ack confirmed. */
  shipDateLate?: { days: number; action: RuleAction };
  /** A po-ack's or invoice's unit price differs from the order's by over `percent`. */
  unitPrice?: { percent: number; action: RuleAction };
  /** Invoices invoice more of a line than was shipped (by over `percent`, 0 by default). */
  invoiceAboveShipped?: { percent: number; action: RuleAction };
  /** A document names a purchase order (or a line) the gateway does not know for this partner. */
  unknownPo?: { action: RuleAction };
  /** An invoice number the partner used before. */
  duplicateInvoice?: { action: RuleAction };
}
