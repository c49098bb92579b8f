/**
 * An append-only output file that can be cut back to a checkpoint. Writes are batched into large
 * buffers (one write(2) per MiB rather than per line). For a gzip output, every batch is written as
 * a complete gzip member, so the file is valid gzip at every batch boundary and truncating it to a
 * checkpointed length leaves valid gzip (readers such as gzip, zcat and zlib read concatenated
 * members as one stream).
 */
import { closeSync, fstatSync, fsyncSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { gzipSync } from 'node:zlib';

const BATCH_BYTES = 1 << 20;

/** An output file opened at a known length. */
export class Appender {
  private fd: number;
  private batch = Buffer.allocUnsafe(BATCH_BYTES);
  private used = 0;
  /** Bytes on disk (after the last flush). */
  private onDisk: number;

  /**
   * Opens `path`, creating it (and its folders) if needed, and cuts it back to `length` bytes: the
   * length of the last checkpoint, so bytes written after it by a crashed process disappear.
   */
  constructor(
    readonly path: string,
    length: number,
    private readonly gzip: boolean,
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, 'a+');
    const size = fstatSync(this.fd).size;
    if (size < length) {
      closeSync(this.fd);
      throw new Error(`${path} is ${size} bytes, shorter than its checkpoint (${length}): it was changed outside cleaner`);
    }
    if (size > length) ftruncateSync(this.fd, length);
    this.onDisk = length;
  }

  /** Appends `buf[start, end)`. */
  append(buf: Buffer, start = 0, end = buf.length): void {
    const n = end - start;
    if (this.used + n > BATCH_BYTES) this.flush();
    if (n > BATCH_BYTES) {
      this.writeOut(buf.subarray(start, end));
      return;
    }
    buf.copy(this.batch, this.used, start, end);
    this.used += n;
  }

  /** Writes what is batched; returns the length on disk. */
  flush(): number {
    if (this.used > 0) {
      this.writeOut(this.batch.subarray(0, this.used));
      this.used = 0;
    }
    return this.onDisk;
  }

  /** Flushes and fsyncs: after this, `length` bytes survive a crash or a power cut. */
  sync(): number {
    this.flush();
    fsyncSync(this.fd);
    return this.onDisk;
  }

  get length(): number {
    return this.onDisk;
  }

  close(): void {
    closeSync(this.fd);
  }

  private writeOut(data: Buffer): void {
    const out = this.gzip ? gzipSync(data, { level: 6 }) : data;
    let off = 0;
    while (off < out.length) off += writeSync(this.fd, out, off, out.length - off);
    this.onDisk += out.length;
  }
}
