import { mkdir, rename, writeFile } from 'node:fs/promises';
import type { CanonicalDocument } from '../canonical/index.js';
import path from 'node:path';
import { GatewayError } from '../errors.js';
import { SIGNATURE_HEADER, signatureHeader } from '../security/webhooks.js';
import type { FileTarget, HttpTarget } from '../types.js';
import { post, type PostAnswer } from './http-post.js';
import type { OutboxItem, Transport } from './transport.js';

/** What every target receives: the canonical document with the facts the ERP needs to trace it. */
export interface DeliveryEnvelope {
  deliveryId: string;
  idempotencyKey: string;
  correlationId: string;
  messageId: string;
  documentId: string;
  partner: string;
  type: string;
  schemaVersion: number;
  profile: { id: string; version: number };
  documentNumber: string | null;
  document: CanonicalDocument;
}

/** HTTP statuses after which the same request may succeed later. */
const RETRYABLE_STATUS = new Set([408, 425, 429]);

/**
 * The ERP's transports (`settle`: what a final outcome does to the message): an HTTP POST of the envelope (signed with each active ERP signing secret, as
 * X-Gateway-Signature) and a file drop. Both throw a GatewayError on failure, whose catalogue entry
 * says whether a retry may help.
 */
export function erpTransports(settle: Transport['settle'], signingSecrets: () => Promise<string[]> = async () => []): { http: Transport; file: Transport } {
  // Sends of one batch start together and share one read of the secrets; the next batch reads them
  // again, so a rotation applies from the next batch on.
  let reading: Promise<string[]> | undefined;
  const secrets = () => {
    reading ??= signingSecrets().finally(() => (reading = undefined));
    return reading;
  };
  return {
    http: {
      send: async (item) => ({ status: 'delivered', detail: await sendHttp(item.target as HttpTarget, envelopeOf(item), await secrets()) }),
      settle,
    },
    file: {
      send: async (item) => ({ status: 'delivered', detail: await writeFileDrop((item.target as FileTarget).dir, envelopeOf(item)) }),
      settle,
    },
  };
}

/** The envelope of an ERP delivery: the canonical document with the facts the ERP needs to trace it. */
export function envelopeOf(item: OutboxItem): DeliveryEnvelope {
  const doc = item.document;
  if (!doc) throw new GatewayError('GW_INTERNAL', `delivery ${item.id} to ${item.targetId} has no document`);
  return {
    deliveryId: item.id,
    idempotencyKey: item.idempotencyKey,
    correlationId: item.correlationId,
    messageId: item.messageId,
    documentId: doc.id,
    partner: item.partnerId,
    type: doc.type,
    schemaVersion: doc.schemaVersion,
    profile: doc.profile,
    documentNumber: doc.documentNumber,
    document: doc.canonical,
  };
}

async function sendHttp(target: HttpTarget, env: DeliveryEnvelope, secrets: readonly string[]): Promise<string> {
  const body = JSON.stringify(env);
  const headers = {
    ...(secrets.length ? { [SIGNATURE_HEADER]: signatureHeader(secrets, body) } : {}),
    ...target.headers,
    'content-type': 'application/json',
    'idempotency-key': env.idempotencyKey,
    'x-correlation-id': env.correlationId,
    'x-gateway-document-type': `${env.type}/v${env.schemaVersion}`,
    'x-gateway-partner': env.partner,
  };
  let res: PostAnswer;
  try {
    res = await post(target.url, headers, body, target.timeoutMs, 300);
  } catch (err) {
    throw new GatewayError('GW_DELIVERY_NETWORK', `POST ${target.url} failed: ${(err as Error).message}`, { cause: err });
  }
  if (res.status >= 200 && res.status < 300) return `HTTP ${res.status}`;
  // A 4xx other than timeouts and rate limits will not change on retry: the ERP refuses the document.
  const refused = res.status >= 400 && res.status < 500 && !RETRYABLE_STATUS.has(res.status);
  throw new GatewayError(
    refused ? 'GW_DELIVERY_REFUSED' : 'GW_DELIVERY_HTTP',
    `POST ${target.url} answered HTTP ${res.status}${res.text ? `: ${res.text}` : ''}`,
  );
}

/** Writes `<dir>/<partner>/<type>/<idempotency key>.json` atomically (temporary name, then rename). */
async function writeFileDrop(dir: string, env: DeliveryEnvelope): Promise<string> {
  const folder = path.join(dir, env.partner, env.type);
  const file = path.join(folder, `${env.idempotencyKey}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  const body = JSON.stringify(env, null, 2);
  try {
    // The folder usually exists: make it only when the write says it is missing.
    await writeFile(tmp, body).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
      await mkdir(folder, { recursive: true });
      await writeFile(tmp, body);
    });
    await rename(tmp, file);
  } catch (err) {
    throw new GatewayError('GW_DELIVERY_FILE', `Could not write ${file}: ${(err as Error).message}`, { cause: err });
  }
  return file;
}
