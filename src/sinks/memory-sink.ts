/**
 * A growable in-memory sink: a worker cleaning one block of a large object collects the block's
 * reject records here and hands the bytes to the thread that writes them in order. Kept lines do
 * not pass through it: a block reports them as byte ranges of the input, which the writer copies
 * from the file (clean-block.ts).
 */
import type { Sink } from './appender.js';

/** Bytes appended in order, in one buffer that grows by doubling and can be handed over. */
export class MemorySink implements Sink {
  private buf: Buffer;
  private used = 0;

  /**
   * `capacity`: the expected size, so that the usual block needs no regrowth. `reuse`: a buffer to
   * fill instead of allocating, used when it is large enough.
   */
  constructor(capacity: number, reuse?: Buffer) {
    // Not from Buffer's shared pool: the whole ArrayBuffer is transferred to another thread.
    this.buf = reuse !== undefined && reuse.length >= capacity ? reuse : Buffer.allocUnsafeSlow(Math.max(capacity, 64));
  }

  append(src: Buffer, start = 0, end = src.length): void {
    const n = end - start;
    if (this.used + n > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.used + n));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    src.copy(this.buf, this.used, start, end);
    this.used += n;
  }

  /** Bytes appended so far. */
  get length(): number {
    return this.used;
  }

  /** The bytes appended, as a view over a buffer that owns its whole ArrayBuffer (transferable). */
  bytes(): Uint8Array {
    return new Uint8Array(this.buf.buffer, 0, this.used);
  }
}
