/**
 * Every error the gateway reports is declared here once, with a stable code, the HTTP status it maps
 * to and whether retrying the same request may succeed. docs/errors.md lists every code; a unit test
 * keeps the two in step.
 */

/** Where in the input (or configuration) an error was found. All fields optional; fill what is known. */
export interface SourceLocation {
  /** X12: segment tag, e.g. `DTM`. */
  segment?: string;
  /** X12: 1-based position of the segment inside its transaction set (ST = 1), as 997 AK3 reports it. */
  position?: number;
  /** X12: 1-based element position inside the segment (AK4), e.g. 2 for DTM02. */
  element?: number;
  /** X12: ST02 of the transaction set the error belongs to; EDIFACT: UNH 0062 of the message. */
  transaction?: string;
  /** EDIFACT: 1-based component inside a composite element (CONTRL UCD S011 0098). */
  component?: number;
  /** EDIFACT: 1-based index of the segment in the interchange (UNB = 1), for envelope segments too. */
  segmentIndex?: number;
  /** JSON source: a JSONPath such as `$.lines[2].quantity`. */
  jsonPath?: string;
  /** XML source: the element or attribute, e.g. `/cXML/Request/ShipNoticeRequest/ShipNoticeHeader/@shipmentID`. */
  xmlPath?: string;
  /** CSV source: the column's header name (the column number is in `column`). */
  csvColumn?: string;
  /** Canonical document: JSON Pointer of the field, e.g. `/items/0/quantity`. */
  pointer?: string;
  /** File name (configuration files, uploaded files). */
  file?: string;
  /** 1-based line and column in the file or payload. */
  line?: number;
  column?: number;
  /** 0-based byte offset in the payload (encoding errors). */
  offset?: number;
  /** Mapping profile rule that produced the error, e.g. `fields.orders.each.fields.poNumber`. */
  rule?: string;
}

interface ErrorSpec {
  status: number;
  retryable: boolean;
  title: string;
}

/** The catalogue. Adding a code here without documenting it in docs/errors.md fails a test. */
export const ERROR_CODES = {
  // Requests at the door
  GW_AUTH_MISSING: { status: 401, retryable: false, title: 'No credentials were presented' },
  GW_AUTH_INVALID: { status: 401, retryable: false, title: 'The credentials are unknown, expired or revoked' },
  GW_AUTH_FORBIDDEN: { status: 403, retryable: false, title: 'The partner may not use this channel or operation' },
  GW_AUTH_SCOPE: { status: 403, retryable: false, title: 'The credentials lack the scope this operation or document type needs' },
  GW_AUTH_CERTIFICATE: {
    status: 401,
    retryable: false,
    title: 'The TLS client certificate is missing, not pinned for the partner, or not the one the token is bound to',
  },
  GW_RATE_LIMITED: { status: 429, retryable: true, title: 'Too many requests; retry after the number of seconds in Retry-After' },
  GW_OAUTH_CLIENT: { status: 401, retryable: false, title: 'OAuth client authentication failed (invalid_client)' },
  GW_OAUTH_REQUEST: {
    status: 400,
    retryable: false,
    title: 'The token request is malformed or asks for an unsupported grant (invalid_request, unsupported_grant_type)',
  },
  GW_OAUTH_SCOPE: { status: 400, retryable: false, title: 'None of the requested scopes is allowed for the client (invalid_scope)' },
  GW_WEBHOOK_SIGNATURE: { status: 401, retryable: false, title: 'The webhook signature is missing, outside the replay window, or matches no active secret' },
  GW_WEBHOOK_REPLAY: { status: 409, retryable: false, title: 'The signed webhook (same timestamp and body) was received before inside the replay window' },
  GW_PARTNER_INACTIVE: { status: 403, retryable: false, title: 'The partner is suspended' },
  GW_PARTNER_NOT_READY: { status: 409, retryable: false, title: 'The partner cannot go live: its onboarding checklist is incomplete' },
  GW_PARTNER_STATE: { status: 409, retryable: false, title: 'The partner cannot move to that lifecycle state from where it is' },
  GW_REQUEST_TOO_LARGE: { status: 413, retryable: false, title: 'The payload exceeds the size limit' },
  GW_REQUEST_MEDIA_TYPE: { status: 415, retryable: false, title: 'The Content-Type is not accepted' },
  GW_REQUEST_INVALID: { status: 400, retryable: false, title: 'The request is malformed' },
  GW_IDEMPOTENCY_CONFLICT: { status: 422, retryable: false, title: 'The Idempotency-Key was already used with a different payload' },
  GW_NOT_FOUND: { status: 404, retryable: false, title: 'No such resource' },
  GW_STORE_UNAVAILABLE: { status: 503, retryable: true, title: 'The message store could not commit; nothing was accepted' },
  GW_INTERNAL: { status: 500, retryable: true, title: 'An unexpected internal error' },

  // Interpretation (format level)
  GW_X12_ENVELOPE: { status: 422, retryable: false, title: 'The X12 interchange envelope (ISA/IEA) is malformed' },
  GW_X12_SYNTAX: { status: 422, retryable: false, title: 'The X12 data cannot be split into segments' },
  GW_X12_GROUP: { status: 422, retryable: false, title: 'A functional group (GS/GE) is inconsistent' },
  GW_X12_SET_TRAILER: { status: 422, retryable: false, title: 'A transaction set trailer (SE) does not match its header or count' },
  GW_X12_DUPLICATE: { status: 409, retryable: false, title: 'The interchange repeats one received before (same sender and ISA13 within the window)' },
  GW_EDIFACT_SYNTAX: { status: 422, retryable: false, title: 'The EDIFACT data cannot be split into segments (UNA, terminator, tags)' },
  GW_EDIFACT_ENVELOPE: {
    status: 422,
    retryable: false,
    title: 'The EDIFACT interchange envelope (UNB/UNZ) is malformed, its count or reference disagrees, or the sender is not the partner',
  },
  GW_EDIFACT_CHARSET: {
    status: 422,
    retryable: false,
    title: 'The EDIFACT syntax identifier is not supported, or a character lies outside its repertoire',
  },
  GW_EDIFACT_GROUP: { status: 422, retryable: false, title: 'An EDIFACT group (UNG/UNE) is inconsistent' },
  GW_EDIFACT_MESSAGE_TRAILER: {
    status: 422,
    retryable: false,
    title: 'An EDIFACT message trailer (UNT) does not match its header or segment count',
  },
  GW_EDIFACT_SEGMENT_POSITION: {
    status: 422,
    retryable: false,
    title: 'An EDIFACT segment stands where its message structure does not allow it, or the message has no such segment',
  },
  GW_EDIFACT_SEGMENT_MISSING: { status: 422, retryable: false, title: 'A mandatory segment or segment group of an EDIFACT message is missing' },
  GW_EDIFACT_SEGMENT_REPEATED: {
    status: 422,
    retryable: false,
    title: 'An EDIFACT segment or segment group repeats more often than its message structure allows',
  },
  GW_EDIFACT_ELEMENT_MISSING: { status: 422, retryable: false, title: 'A mandatory data element or component of an EDIFACT segment is empty' },
  GW_EDIFACT_ELEMENT_VALUE: {
    status: 422,
    retryable: false,
    title: 'An EDIFACT data element holds characters its representation does not allow, or a value its code list does not have',
  },
  GW_EDIFACT_ELEMENT_LENGTH: { status: 422, retryable: false, title: 'An EDIFACT data element is longer or shorter than its representation allows' },
  GW_EDIFACT_ELEMENT_EXTRA: {
    status: 422,
    retryable: false,
    title: 'An EDIFACT segment has more data elements or components than its layout, or repeats an element',
  },
  GW_EDIFACT_DUPLICATE: {
    status: 409,
    retryable: false,
    title: 'The EDIFACT interchange repeats one received before (same sender and UNB 0020 within the window)',
  },
  GW_X12_GUIDE: { status: 422, retryable: false, title: "The transaction set breaks the partner's implementation guide" },
  GW_ACK_OVERDUE: { status: 504, retryable: false, title: 'A document we sent has no functional acknowledgment within the expected window' },
  GW_JSON_SYNTAX: { status: 422, retryable: false, title: 'The JSON payload is not valid JSON' },
  GW_XML_SYNTAX: { status: 422, retryable: false, title: 'The XML payload is not well-formed' },
  GW_XML_DTD: { status: 422, retryable: false, title: 'The XML declares a DTD internal subset (entities), which is refused' },
  GW_CSV_SYNTAX: { status: 422, retryable: false, title: 'The CSV file cannot be read with the settings of its mapping profile' },
  GW_JSON_ENCODING: { status: 422, retryable: false, title: 'The JSON payload is not valid UTF-8' },
  GW_XML_ENCODING: { status: 422, retryable: false, title: 'The XML payload is not valid in its declared (or assumed UTF-8) encoding' },
  GW_JSON_DEPTH: { status: 422, retryable: false, title: 'The JSON payload nests deeper than the gateway reads' },
  GW_XML_DEPTH: { status: 422, retryable: false, title: 'The XML payload nests deeper than the gateway reads' },
  GW_INTERPRET_TIMEOUT: { status: 500, retryable: true, title: 'Interpreting the message took longer than its time budget; it was stopped' },
  GW_INTERPRET_RESOURCES: { status: 500, retryable: true, title: 'Interpreting the message exceeded the memory of its worker, or the worker stopped' },

  // Mapping and validation (document level)
  GW_DOC_TYPE_UNKNOWN: { status: 422, retryable: false, title: 'No mapping profile of the partner matches the document' },
  GW_MAP_REQUIRED: { status: 422, retryable: false, title: 'A value the mapping profile requires is missing' },
  GW_MAP_TRANSFORM: { status: 422, retryable: false, title: 'A value could not be transformed as the mapping profile says' },
  GW_MAP_XREF: { status: 422, retryable: false, title: "A value (such as the supplier's SKU) is not in the profile's cross-reference table" },
  GW_MAP_UNIT: { status: 422, retryable: false, title: "A quantity cannot be converted to the profile's unit of measure" },
  GW_CANONICAL_INVALID: { status: 422, retryable: false, title: 'The canonical document breaks its JSON Schema' },

  // Configuration
  GW_CONFIG_INVALID: { status: 500, retryable: false, title: 'A configuration file is invalid' },
  GW_CONFIG_REFERENCE: { status: 500, retryable: false, title: 'A configuration file refers to something that does not exist' },

  // Delivery
  GW_DELIVERY_HTTP: { status: 502, retryable: true, title: 'The ERP endpoint failed the delivery (5xx, 408, 425 or 429)' },
  GW_DELIVERY_NETWORK: { status: 502, retryable: true, title: 'The ERP endpoint could not be reached' },
  GW_DELIVERY_REFUSED: { status: 502, retryable: false, title: 'The ERP endpoint refused the document with a 4xx status; a retry would be refused too' },
  GW_DELIVERY_FILE: { status: 500, retryable: true, title: 'The file drop could not be written' },
  GW_DELIVERY_TARGET: {
    status: 500,
    retryable: false,
    title: "The delivery's target is no longer configured, or its message cannot be built for it; fix the profile, then replay",
  },
  GW_BROKER_UNAVAILABLE: {
    status: 502,
    retryable: true,
    title: 'The message broker (RabbitMQ, NATS) could not be reached, or did not confirm the publish in time',
  },
  GW_BROKER_REFUSED: {
    status: 502,
    retryable: true,
    title: 'The message broker refused the publish (no such exchange or stream, unroutable, negative acknowledgment)',
  },

  // Events out (decision 0037)
  GW_EVENT_URL_NOT_ALLOWED: { status: 400, retryable: false, title: "The subscription's URL is not on the subscriber's allow-list" },
  GW_EVENT_REDIRECT: { status: 502, retryable: false, title: 'The subscriber answered an event with a redirect, which is not followed' },
  GW_EVENT_SUBSCRIPTION_GONE: {
    status: 502,
    retryable: false,
    title: "The event's subscription was removed, or its URL left the allow-list, before the event was sent",
  },

  // SFTP
  GW_SFTP_PATH: { status: 403, retryable: false, title: "The SFTP path leads outside the partner's folders or is not allowed" },
  GW_SFTP_HOST_KEY: { status: 502, retryable: false, title: "The partner's SFTP server presented a host key that is not pinned" },
  GW_SFTP_REMOTE: { status: 502, retryable: true, title: "The partner's SFTP server could not be reached or refused an operation" },

  // AS2 (RFC 4130): dispositions in the MDN, and the sending side
  GW_AS2_REQUEST: { status: 400, retryable: false, title: 'The AS2 request lacks AS2-From, AS2-To, Message-ID or a body, or asked for something refused' },
  GW_AS2_PARTNER: { status: 403, retryable: false, title: 'No AS2 agreement matches AS2-From and AS2-To' },
  GW_AS2_SECURITY: { status: 422, retryable: false, title: 'The agreement requires signing or encryption the message lacked (insufficient-message-security)' },
  GW_AS2_DECRYPTION: { status: 422, retryable: false, title: 'The message could not be decrypted with our keys (decryption-failed)' },
  GW_AS2_AUTHENTICATION: { status: 422, retryable: false, title: "The signature was not made with the partner's certificate (authentication-failed)" },
  GW_AS2_INTEGRITY: { status: 422, retryable: false, title: 'The content does not match its signature (integrity-check-failed)' },
  GW_AS2_PROCESSING: { status: 422, retryable: false, title: 'The message could not be read (unexpected-processing-error)' },
  GW_AS2_MDN: { status: 502, retryable: false, title: 'The MDN for a message we sent is negative, unsigned, unverifiable or has a wrong MIC' },
  GW_AS2_SEND: { status: 502, retryable: true, title: "The partner's AS2 endpoint could not be reached or refused the message" },

  // Operations
  GW_REPLAY_STATE: { status: 409, retryable: false, title: 'The message is not in a state that can be replayed' },
  GW_PO_AMBIGUOUS: { status: 409, retryable: false, title: 'The purchase order number is used by more than one partner' },
  GW_PO_EXISTS: { status: 409, retryable: false, title: 'The purchase order is already known for this partner' },
  GW_EXCEPTION_STATE: { status: 409, retryable: false, title: 'The exception or held document is not in a state for this action' },
  GW_PORTAL_SIGN_IN: { status: 401, retryable: false, title: 'The portal username or password is wrong (the same answer whether or not the user exists)' },
  GW_PORTAL_LOCKED: {
    status: 429,
    retryable: true,
    title: 'Too many failed portal sign-ins for this username or from this address; wait for the lockout to end',
  },
  GW_PORTAL_SESSION: { status: 401, retryable: false, title: 'No portal session, or it expired, was signed out or its user was disabled' },
  GW_PORTAL_ROLE: { status: 403, retryable: false, title: "The portal user's role does not allow this page" },
  GW_PORTAL_CSRF: { status: 403, retryable: false, title: 'A portal form was posted without the form token of the session, or with another one' },
  GW_PORTAL_FORM: {
    status: 422,
    retryable: false,
    title: 'A portal form field holds a value the form cannot use (a pack of a line not shipped, more packed than shipped)',
  },
  GW_WORKBENCH_INVALID: {
    status: 422,
    retryable: false,
    title: 'An edited mapping profile is not valid YAML, breaks the schema or does not load; nothing was saved',
  },
  GW_WORKBENCH_STALE: {
    status: 409,
    retryable: false,
    title: 'The mapping profile file changed on disk since the workbench page was opened; nothing was saved',
  },
  GW_PORTAL_OIDC: {
    status: 401,
    retryable: false,
    title: "The identity provider's sign-in answer was not verified, not started in this browser, used already, or names a disabled user",
  },
  GW_PORTAL_OIDC_GROUP: { status: 403, retryable: false, title: 'None of the groups the identity provider names maps to a portal role (PORTAL_OIDC_ROLE_MAP)' },
  GW_PORTAL_OIDC_PROVIDER: { status: 503, retryable: true, title: 'The OpenID Connect provider could not be reached or its discovery document is unusable' },
  GW_PORTAL_USER: { status: 400, retryable: false, title: 'A portal user command names an unknown user, role or partner, or a user that exists already' },
  GW_SSCC_INVALID: {
    status: 422,
    retryable: false,
    title: 'An SSCC is not 18 digits with its GS1 check digit, or cannot be made from the prefix, extension digit and serial given',
  },
  GW_SSCC_PREFIX: { status: 409, retryable: false, title: 'The partner declares no GS1 company prefix (gs1.companyPrefix), so no SSCC is allocated for it' },
  GW_LABELS_NO_CARTONS: { status: 422, retryable: false, title: 'The ship notice names no carton with an SSCC to print a label for' },
  GW_CRED_UNKNOWN: { status: 404, retryable: false, title: 'No such credential' },
  GW_CRED_INVALID: { status: 400, retryable: false, title: 'The credential material or the rotation request is invalid' },
  GW_SECRET_KEY: { status: 500, retryable: false, title: 'A secret at rest cannot be opened: the master key is missing or another one' },
  GW_CLI_ARGUMENT: { status: 400, retryable: false, title: 'A command-line argument or option is malformed' },
  GW_PORT_IN_USE: { status: 500, retryable: false, title: 'A port the gateway listens on is in use by another process, or needs privileges' },
  GW_STORE_CONNECT: { status: 503, retryable: true, title: 'The database at DATABASE_URL cannot be reached or refuses the connection' },
  GW_STORE_EMBEDDED: {
    status: 503,
    retryable: true,
    title: 'The embedded PostgreSQL died and could not be restarted, or was stopped from outside; the gateway stops',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** One problem, as stored on a message or document and shown to partners. */
/** What a source value should have been, where a kind matters to the reader (a 997/999 AK4). */
export type ExpectedValue = 'date' | 'time';

export interface Problem {
  code: ErrorCode;
  message: string;
  location?: SourceLocation;
  /** The value failed as a date or a time (AK4 8 or 9), rather than as a value in general (7). */
  expected?: ExpectedValue;
  /** X12 acknowledgment codes for this problem, when it came from (or concerns) an X12 interchange. */
  x12?: X12AckCodes;
  /** The ISO 9735 syntax error code (0085) a CONTRL reports, when the problem concerns an EDIFACT interchange. */
  edifact?: { error: string };
}

/**
 * The X12 codes an acknowledgment reports for a problem: TA105 (interchange note), AK905 (group),
 * AK502/IK502 (set), AK304/IK304 (segment), AK403/IK403 (element). The 997 and 999 share the
 * numeric codes used here.
 */
export interface X12AckCodes {
  ta1?: string;
  ak9?: string;
  ak5?: string;
  ak3?: string;
  ak4?: string;
  /** The bad element value, copied into AK404/IK404. */
  value?: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly location?: SourceLocation;
  /** Further problems of the same kind (e.g. every schema violation of one document). */
  readonly problems: Problem[];

  constructor(code: ErrorCode, message: string, opts: { location?: SourceLocation; cause?: unknown; problems?: Problem[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'GatewayError';
    this.code = code;
    const spec: ErrorSpec = ERROR_CODES[code];
    this.status = spec.status;
    this.retryable = spec.retryable;
    if (opts.location) this.location = opts.location;
    this.problems = opts.problems ?? [this.toProblem()];
  }

  toProblem(): Problem {
    return this.location ? { code: this.code, message: this.message, location: this.location } : { code: this.code, message: this.message };
  }
}

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}

/** Formats a location for a human sentence: "segment DTM at position 7, element 2 (line 9)". */
export function describeLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  const parts: string[] = [];
  if (loc.file) parts.push(loc.line ? `${loc.file}:${loc.line}${loc.column ? `:${loc.column}` : ''}` : loc.file);
  if (loc.segment) parts.push(`segment ${loc.segment}${loc.position ? ` at position ${loc.position}` : ''}`);
  if (loc.element) parts.push(`element ${String(loc.element).padStart(2, '0')}${loc.component ? ` component ${loc.component}` : ''}`);
  if (loc.transaction) parts.push(`transaction set ${loc.transaction}`);
  if (loc.jsonPath) parts.push(loc.jsonPath);
  if (loc.xmlPath) parts.push(loc.xmlPath);
  if (loc.csvColumn) parts.push(`column ${loc.csvColumn}`);
  if (loc.pointer && !loc.jsonPath && !loc.segment) parts.push(`field ${loc.pointer}`);
  if (!loc.file && loc.line) parts.push(`line ${loc.line}${loc.column && !loc.csvColumn ? `:${loc.column}` : ''}`);
  if (loc.rule) parts.push(`rule ${loc.rule}`);
  return parts.join(', ');
}
