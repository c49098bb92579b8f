/**
 * Reads a plain file in fixed-size chunks into two buffers used in turn: the next read runs on
 * libuv's thread pool while the caller works on the current chunk, and nothing is allocated per
 * chunk. A chunk is only valid until the next one is asked for.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { giveBuffer, takeBuffer } from '../sinks/buffer-pool.js';

/**
 * Yields the bytes of `path` from `start` to its end (or to `limit`), `chunkBytes` at a time (the
 * last may be shorter), or with `firstBytes` first and twice as many each time until `chunkBytes`.
 * `path` may name the same file under several names, for a file that is renamed meanwhile (a
 * download completing): the first that opens is read.
 */
export async function* readChunks(path: string | readonly string[], start: number, chunkBytes: number, limit = Infinity, firstBytes = chunkBytes): AsyncGenerator<Buffer> {
  const fh = await openFirst(path);
  const bufs = [takeBuffer(chunkBytes), takeBuffer(chunkBytes)];
  try {
    let pos = start;
    let k = 0;
    let size = Math.max(1, Math.min(firstBytes, chunkBytes));
    const want = () => Math.max(0, Math.min(size, limit - pos));
    let next = readFull(fh, bufs[0].subarray(0, want()), pos);
    for (;;) {
      const n = await next;
      if (n === 0) return;
      const cur = bufs[k];
      const asked = want();
      pos += n;
      k ^= 1;
      size = Math.min(chunkBytes, size * 2);
      // Read ahead into the other buffer while the caller uses this one.
      next = n < asked || want() === 0 ? Promise.resolve(0) : readFull(fh, bufs[k].subarray(0, want()), pos);
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

/**
 * The `size` bytes of the file at `path`, or undefined when it cannot be read or does not hold
 * exactly that many (it changed since it was listed). Reads one byte more than `size` at most,
 * never the whole of a file that grew.
 */
export async function readExactly(path: string, size: number): Promise<Buffer | undefined> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, 'r');
    const buf = Buffer.allocUnsafe(size + 1);
    const got = await readFull(fh, buf, 0);
    return got === size ? buf.subarray(0, size) : undefined;
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => undefined);
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
 * With a `limit`, reads nothing at or past it, and returns -1 when no "\n" comes before it.
 */
export async function nextLineStart(path: string | readonly string[], from: number, limit = Infinity): Promise<number> {
  const fh = await openFirst(path);
  try {
    const buf = Buffer.allocUnsafe(64 << 10);
    let pos = from;
    for (;;) {
      if (pos >= limit) return -1;
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, limit - pos), pos);
      if (bytesRead === 0) return limit === Infinity ? pos : -1;
      const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
      if (nl !== -1) return pos + nl + 1;
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/**
 * Opens the first of `paths` that exists; the last one's error if none does. A download renames
 * its partial file when it completes: partial then final names always find the file.
 */
export async function openFirst(paths: string | readonly string[]): Promise<FileHandle> {
  const list = typeof paths === 'string' ? [paths] : paths;
  for (let i = 0; ; i++) {
    try {
      return await open(list[i], 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || i === list.length - 1) throw err;
    }
  }
}
