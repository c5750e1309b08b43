import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ErpAnswer = number | { status: number; headers: Record<string, string> };

export interface ErpRequest {
  /** The path (and query) it was posted to. */
  path: string;
  headers: IncomingHttpHeaders;
  /** The body as it arrived (for signature checks). */
  raw: Buffer;
  body: { idempotencyKey: string; type: string; document: Record<string, unknown>; [k: string]: unknown };
}

/**
 * A real HTTP receiver standing in for the ERP: it records every POST, and answers with the status
 * that `respond` chooses (202 by default). It can be stopped and started again on the same port.
 */
export class ErpReceiver {
  readonly requests: ErpRequest[] = [];
  /** The status to answer (with headers, for a redirect); a promise holds the answer back (a slow ERP). */
  respond: (req: ErpRequest, nth: number) => ErpAnswer | Promise<ErpAnswer> = () => 202;
  private server: Server | undefined;
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}/erp/inbound`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const raw = Buffer.concat(chunks);
        const r: ErpRequest = { path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw.toString('utf8')) };
        this.requests.push(r);
        const answer = await this.respond(r, this.requests.length);
        const { status, headers } = typeof answer === 'number' ? { status: answer, headers: {} } : answer;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.statusCode = status;
        res.end(JSON.stringify({ ok: res.statusCode < 300 }));
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  /** Distinct idempotency keys received, with how many requests carried each. */
  keyCounts(): Map<string, number> {
    const m = new Map<string, number>();
    for (const r of this.requests) {
      const k = String(r.headers['idempotency-key']);
      m.set(k, (m.get(k) ?? 0) + 1);
    }
    return m;
  }
}
