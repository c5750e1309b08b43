import http from 'node:http';
import https from 'node:https';

/**
 * One POST with Node's own HTTP client over kept-alive connections. The outbox sends thousands of
 * small documents a second to the same few endpoints; `fetch` spends about as much of the event
 * loop on its web streams, abort signals and header objects as on the request itself
 * (docs/decisions/0022-credential-cache-and-signals.md).
 */

/** Connections kept open per endpoint: the worker's concurrency per target is below this. */
const AGENTS = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }),
};

export interface PostAnswer {
  status: number;
  /** The start of the answer's body (at most `maxAnswerBytes`), for the delivery's detail. */
  text: string;
}

/** Why a POST got no answer: a network error code (ECONNREFUSED …) or `timeout`. */
export class PostFailed extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
  }
}

/**
 * POSTs `body` to `url` and resolves with the status and the start of the answer once the whole
 * answer has arrived; rejects with PostFailed on a network error or when `timeoutMs` pass first.
 * Redirects are answers like any other: they are never followed.
 */
export function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, maxAnswerBytes = 4096): Promise<PostAnswer> {
  const target = new URL(url);
  const agent = AGENTS[target.protocol as keyof typeof AGENTS];
  if (!agent) return Promise.reject(new PostFailed(`unsupported protocol ${target.protocol}`));
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        // The rest is read and dropped, so that the connection can carry the next request.
        if (kept < maxAnswerBytes) chunks.push(chunk.subarray(0, maxAnswerBytes - kept));
        kept += chunk.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => fail(err));
    });
    const fail = (err: Error & { code?: string }) => {
      clearTimeout(timer);
      reject(err instanceof PostFailed ? err : new PostFailed(err.code ?? err.message, { cause: err }));
    };
    const timer = setTimeout(() => req.destroy(new PostFailed('timeout')), timeoutMs);
    req.on('error', fail);
    req.end(body);
  });
}
