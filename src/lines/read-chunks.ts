/**
 * Reads a plain file in fixed-size chunks into two buffers used in turn: the next read runs on
 * libuv's thread pool while the caller works on the current chunk, and nothing is allocated per
 * chunk. A chunk is only valid until the next one is asked for.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { giveBuffer, takeBuffer } from '../sinks/buffer-pool.js';

/** Yields the bytes of `path` from `start` to its end, `chunkBytes` at a time (the last may be shorter). */
export async function* readChunks(path: string, start: number, chunkBytes: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  const bufs = [takeBuffer(chunkBytes), takeBuffer(chunkBytes)];
  try {
    let pos = start;
    let k = 0;
    let next = readFull(fh, bufs[0], pos);
    for (;;) {
      const n = await next;
      if (n === 0) return;
      const cur = bufs[k];
      pos += n;
      k ^= 1;
      // Read ahead into the other buffer while the caller uses this one.
      next = n < chunkBytes ? Promise.resolve(0) : readFull(fh, bufs[k], pos);
      try {
        yield cur.subarray(0, n);
      } finally {
        // Stopped early (or failed): no read may still be filling a buffer we give back.
        await next.catch(() => 0);
      }
    }
  } finally {
    await fh.close();
    for (const b of bufs) giveBuffer(b);
  }
}

/** Reads until `buf` is full or the file ends; returns the bytes read. */
async function readFull(fh: FileHandle, buf: Buffer, pos: number): Promise<number> {
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, pos + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got;
}

/**
 * The offset just after the first "\n" at or after `from` (so the start of the first line that
 * starts at or after `from + 1`), or the file's size when there is none. Reads 64 KiB at a time.
 */
export async function nextLineStart(path: string, from: number): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 << 10);
    let pos = from;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return pos;
      const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
      if (nl !== -1) return pos + nl + 1;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}
