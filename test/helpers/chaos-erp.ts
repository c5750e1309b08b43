import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * How the ERP answers one request:
 * - `ok`: processes the document (its effect happens) and answers 202, after `delayMs` if given;
 *   a delay longer than the gateway's timeout makes it retry a document the ERP already holds;
 *   with `effectAtReply`, the effect happens only if the sender is still there to get the answer
 *   (an ERP that rolls back when its client vanishes mid-request);
 * - `status`: answers with that status and does nothing (500: try again; 400: never);
 * - `reset`: drops the connection without an answer; `garbage`: writes bytes that are no HTTP.
 */
export type ErpAnswer =
  | { kind: 'ok'; delayMs?: number; effectAtReply?: boolean }
  | { kind: 'status'; status: number }
  | { kind: 'reset' }
  | { kind: 'garbage' };

export interface ErpDocument {
  idempotencyKey: string;
  /** The canonical document's shipment id: the load generators put the sent item's name there. */
  item: string;
}

/**
 * The ERP of the chaos scenarios: a real HTTP server that processes each idempotency key once in
 * effect (as a real ERP's idempotency table does), remembers every key it processed, and can be
 * stopped (down), slowed, made to fail, or made to talk garbage.
 */
export class ChaosErp {
  /** Documents processed, in order; one per request answered `ok`, repeats of a key included. */
  readonly processed: ErpDocument[] = [];
  /** Requests seen, whatever the answer. */
  requests = 0;
  /** Requests being answered slowly right now. */
  inFlight = 0;
  answer: (doc: ErpDocument) => ErpAnswer = () => ({ kind: 'ok' });
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/erp/inbound`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => this.handle(req, res));
    server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  /** Down: the port refuses connections until `start` again (same port). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests++;
      let doc: ErpDocument;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { document?: { shipmentId?: unknown } };
        doc = { idempotencyKey: String(req.headers['idempotency-key']), item: String(body.document?.shipmentId) };
      } catch {
        res.statusCode = 400;
        res.end('{"error":"not JSON"}');
        return;
      }
      const a = this.answer(doc);
      if (a.kind === 'reset') req.socket.destroy();
      else if (a.kind === 'garbage') req.socket.end('HTTP/1.1 2x0 \u0000\u0007 garbage\r\n\r\n{{{{');
      else if (a.kind === 'status') {
        res.statusCode = a.status;
        res.end(JSON.stringify({ error: `answered ${a.status} on purpose` }));
      } else {
        // By default the effect happens now, whether or not the gateway is still waiting for the answer.
        if (!a.effectAtReply) this.processed.push(doc);
        const reply = () => {
          if (a.effectAtReply && !req.socket.destroyed) this.processed.push(doc);
          res.statusCode = 202;
          res.end('{"ok":true}');
        };
        if (!a.delayMs) return reply();
        this.inFlight++;
        setTimeout(() => {
          this.inFlight--;
          reply();
        }, a.delayMs);
      }
    });
  }

  /** Per sent item, the distinct idempotency keys under which the ERP processed it. */
  keysByItem(): Map<string, Set<string>> {
    const m = new Map<string, Set<string>>();
    for (const d of this.processed) {
      let keys = m.get(d.item);
      if (!keys) m.set(d.item, (keys = new Set()));
      keys.add(d.idempotencyKey);
    }
    return m;
  }
}
