import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { ChunkBuffer } from '../../src/channels/sftp/chunk-buffer.js';

describe('ChunkBuffer: the bytes of an upload, gathered into chunks of one size', () => {
  it('hands out chunks of exactly the chunk size, then the tail, whatever the write sizes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 40 }), fc.integer({ min: 1, max: 257 }), (sizes, chunkBytes) => {
        const file = randomBytes(sizes.reduce((a, b) => a + b, 0));
        const pending = new ChunkBuffer(chunkBytes);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const size of sizes) {
          pending.append(file.subarray(at, at + size), (chunk) => chunks.push(Buffer.from(chunk)));
          at += size;
        }
        assert.ok(chunks.every((c) => c.length === chunkBytes));
        assert.equal(pending.length, file.length % chunkBytes);
        assert.ok(Buffer.concat([...chunks, pending.take()]).equals(file));
      }),
    );
  });

  it('reuses the memory of a chunk only once it is released, and never changes a chunk that is still held', () => {
    const chunkBytes = 64 << 10;
    const file = randomBytes(10 * chunkBytes + 1234);
    const pending = new ChunkBuffer(chunkBytes);
    const held: { chunk: Buffer; copy: Buffer }[] = [];
    const stored: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    for (let at = 0; at < file.length; at += 32 << 10) {
      pending.append(file.subarray(at, at + (32 << 10)), (chunk) => {
        memory.add(chunk.buffer);
        held.push({ chunk, copy: Buffer.from(chunk) });
        // Two chunks in flight at most, as an upload stages them; the oldest lands, then is released.
        if (held.length > 2) {
          const landed = held.shift()!;
          assert.ok(landed.chunk.equals(landed.copy), 'a chunk still held was not written over');
          stored.push(landed.copy);
          pending.release(landed.chunk);
        }
      });
    }
    for (const h of held) {
      assert.ok(h.chunk.equals(h.copy));
      stored.push(h.copy);
    }
    assert.ok(Buffer.concat([...stored, pending.take()]).equals(file));
    assert.ok(memory.size <= 4, `10 chunks in ${memory.size} buffers`);
  });
});
