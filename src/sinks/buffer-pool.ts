/**
 * Large buffers kept for reuse within a thread. A worker cleans object after object: without this,
 * each one allocates its read and write buffers afresh, and the old ones (memory outside V8's heap)
 * linger until a garbage collection that a thread allocating little on its heap rarely runs. That
 * was 10-20 MB of resident memory per thread on the bench.
 */

const free = new Map<number, Buffer[]>();
/** Buffers kept per size: enough for two reads in flight and two output batches. */
const KEEP_PER_SIZE = 4;

/** A buffer of exactly `size` bytes (contents undefined), from the pool when one is free. */
export function takeBuffer(size: number): Buffer {
  return free.get(size)?.pop() ?? Buffer.allocUnsafeSlow(size);
}

/** Gives a buffer from `takeBuffer` back; the caller must not use it afterwards. */
export function giveBuffer(buf: Buffer): void {
  // Only whole, unshared buffers: a view into a bigger one would pin (or clobber) the rest.
  if (buf.byteOffset !== 0 || buf.length !== buf.buffer.byteLength) return;
  let list = free.get(buf.length);
  if (!list) free.set(buf.length, (list = []));
  if (list.length < KEEP_PER_SIZE) list.push(buf);
}
