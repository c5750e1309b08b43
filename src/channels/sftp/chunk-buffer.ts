/** How many chunk-sized buffers an upload keeps for its next chunks once their bytes have landed. */
const SPARE_BUFFERS = 2;

/**
 * The bytes of an upload's next chunk, each copied once: into a buffer that grows with a small
 * file and, once a file fills whole chunks, is one chunk long and used again for a later chunk once
 * its bytes have landed. A 100 MB upload so allocates a few buffers instead of a fresh one for every
 * 32 KB write plus one for every chunk: allocating fresh memory (page faults, and the garbage
 * collections that external memory brings on) was a large part of the door's CPU per MB.
 */
export class ChunkBuffer {
  private buffer: Buffer | undefined;
  private filled = 0;
  private readonly spare: Buffer[] = [];

  constructor(private readonly chunkBytes: number) {}

  /** Bytes gathered since the last chunk was taken. */
  get length(): number {
    return this.filled;
  }

  /** Copies `data` in; hands each chunk it completes (exactly `chunkBytes` long) to `full`. */
  append(data: Buffer, full: (chunk: Buffer) => void): void {
    for (let at = 0; at < data.length; ) {
      const n = Math.min(data.length - at, this.room(data.length - at));
      data.copy(this.buffer!, this.filled, at, at + n);
      this.filled += n;
      at += n;
      if (this.filled === this.chunkBytes) full(this.take());
    }
  }

  /** The bytes gathered so far; the next ones go to another buffer. */
  take(): Buffer {
    const bytes = this.buffer ? this.buffer.subarray(0, this.filled) : Buffer.alloc(0);
    this.buffer = undefined;
    this.filled = 0;
    return bytes;
  }

  /** A chunk taken earlier whose bytes have landed (nothing reads it any more): its memory serves a later chunk. */
  release(chunk: Buffer): void {
    const whole = chunk.byteOffset === 0 && chunk.buffer.byteLength === this.chunkBytes;
    if (whole && this.spare.length < SPARE_BUFFERS) this.spare.push(Buffer.from(chunk.buffer, 0, this.chunkBytes));
  }

  /** Makes room for up to `want` more bytes (within one chunk); returns how many fit. */
  private room(want: number): number {
    const need = Math.min(this.filled + want, this.chunkBytes);
    if (!this.buffer || this.buffer.length < need) {
      const size = Math.min(this.chunkBytes, Math.max(need, 2 * (this.buffer?.length ?? 0)));
      const grown = (size === this.chunkBytes ? this.spare.pop() : undefined) ?? Buffer.allocUnsafe(size);
      this.buffer?.copy(grown, 0, 0, this.filled);
      this.buffer = grown;
    }
    return this.buffer.length - this.filled;
  }
}
