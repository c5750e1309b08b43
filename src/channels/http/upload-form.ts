import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import type { Context } from 'koa';
import { GatewayError } from '../../errors.js';

/** The upload form once read: its text fields, and the file when one was chosen. */
export interface UploadForm {
  fields: URLSearchParams;
  file?: { name: string; bytes: Buffer };
}

/** Fields of the form besides the file: csrf, key, format, content. A few spare, no more. */
const MAX_FIELDS = 8;

/**
 * Streams a `multipart/form-data` upload form (decision 0032). The form's token must come before
 * the file (the page puts its hidden fields first, and browsers send fields in page order), so a
 * file is never read for a request that has not shown it: `checkToken` runs on the fields seen so
 * far when the file starts, and a file before them is refused. The file's bytes are held to
 * `limit` while they arrive: one byte more aborts the request (413) instead of buffering the rest.
 * One file only; a second is refused (400).
 */
export function readUploadForm(ctx: Context, limit: number, whose: string, checkToken: (fields: URLSearchParams) => void): Promise<UploadForm> {
  return new Promise((resolve, reject) => {
    const fields = new URLSearchParams();
    let file: UploadForm['file'];
    let fileRead: Promise<unknown> = Promise.resolve();
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      ctx.req.unpipe(parser);
      // The rest of the body is not read: the connection closes once the answer is sent.
      ctx.set('connection', 'close');
      reject(err);
    };
    let parser: ReturnType<typeof Busboy>;
    try {
      parser = Busboy({
        headers: ctx.req.headers as { 'content-type': string },
        limits: { files: 1, fields: MAX_FIELDS, fieldSize: limit, fileSize: limit, parts: MAX_FIELDS + 2 },
      });
    } catch (err) {
      return reject(new GatewayError('GW_REQUEST_INVALID', `The upload form could not be read: ${(err as Error).message}.`));
    }
    const tooLarge = () => new GatewayError('GW_REQUEST_TOO_LARGE', `The file exceeds the limit of ${limit} bytes${whose}.`);
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (valueTruncated) return fail(tooLarge());
      fields.append(name, value);
    });
    parser.on('file', (_field, stream, fileName) => {
      try {
        checkToken(fields);
      } catch (err) {
        stream.resume();
        return fail(err);
      }
      fileRead = collect(stream, limit).then(
        (bytes) => {
          // A file input left empty still sends a part, without name or bytes.
          if (fileName || bytes.length) file = { name: storableFileName(fileName), bytes };
        },
        () => fail(tooLarge()),
      );
    });
    parser.on('filesLimit', () => fail(new GatewayError('GW_REQUEST_INVALID', 'The upload form takes one file only.')));
    parser.on('fieldsLimit', () => fail(new GatewayError('GW_REQUEST_INVALID', `The upload form takes at most ${MAX_FIELDS} fields.`)));
    parser.on('partsLimit', () => fail(new GatewayError('GW_REQUEST_INVALID', 'The upload form has too many parts.')));
    parser.on('error', (err) => fail(new GatewayError('GW_REQUEST_INVALID', `The upload form could not be read: ${(err as Error).message}.`)));
    parser.on('finish', () =>
      fileRead.then(() => {
        if (settled) return;
        settled = true;
        resolve({ fields, ...(file ? { file } : {}) });
      }),
    );
    ctx.req.on('error', fail);
    ctx.req.pipe(parser);
  });
}

/** The file's bytes, binary-safe; rejects as soon as the stream passes `limit` (busboy's fileSize). */
function collect(stream: BusboyFileStream, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('limit', () => {
      stream.resume();
      reject(new Error(`over ${limit} bytes`));
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => (stream.truncated ? reject(new Error(`over ${limit} bytes`)) : resolve(Buffer.concat(chunks))));
    stream.on('error', reject);
  });
}

/**
 * The name the person's file had (busboy keeps only its last path segment), as the message's
 * `file_name`, like SFTP's: without control characters, which PostgreSQL text and headers refuse.
 */
function storableFileName(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, '_').trim();
  return clean.slice(-255);
}
