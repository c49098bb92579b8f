/**
 * What every GET of the download stage shares: writing a body to its place in the partial file,
 * the ETag comparison, and the HEAD that tells a changed object from a deleted one. (What a failure
 * means and how often it is retried: download-retry.ts.)
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { HeadObjectCommand } from '../s3/sdk.js';
import { fsync, writev } from 'node:fs';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { classifyS3Error, errorStatus } from '../s3/errors.js';

const writevAsync = promisify(writev);
export const fsyncAsync = promisify(fsync);

/** Progress is fsynced and committed this often, bounding what a crash makes us fetch again. */
export const PROGRESS_BYTES = 8 << 20;
/** A body that sends nothing for this long is abandoned and resumed from its offset. */
const STALL_MS = Number(process.env.CLEANER_STALL_TIMEOUT_MS ?? 30_000);
/** Bytes gathered from the socket before one write. */
const WRITE_BATCH = 256 << 10;

/** Where a body is being written: `pos` is the next byte's offset, and what is below it is written. */
export interface Cursor {
  pos: number;
}

/**
 * Writes `body` from `cursor.pos` onwards, advancing the cursor as bytes are written, so a body
 * that breaks leaves the cursor after the last byte written. Chunks (16–64 KB off the socket) are
 * gathered into one writev of about WRITE_BATCH bytes: a thread-pool round trip per socket chunk
 * cost the bench more CPU than the rest of the download. With `onProgress`, progress is fsynced on
 * the thread pool every PROGRESS_BYTES while the body keeps arriving, and committed only once that
 * fsync is done, so a committed offset is always on disk.
 */
export async function streamBody(body: Readable, fd: number, cursor: Cursor, onBytes: (n: number) => void, onProgress?: (bytes: number) => void): Promise<void> {
  let lastCommit = cursor.pos;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let syncing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new Error(`no data for ${STALL_MS} ms`)), STALL_MS);
  };
  const flush = async () => {
    const bufs = batch;
    let left = batchBytes;
    batch = [];
    batchBytes = 0;
    while (left > 0) {
      const { bytesWritten } = await writevAsync(fd, bufs, cursor.pos);
      cursor.pos += bytesWritten;
      left -= bytesWritten;
      // A short write (rare on a regular file) leaves the rest of the buffers to write again.
      dropWritten(bufs, bytesWritten);
    }
  };
  const commit = async () => {
    // One fsync at a time: the next waits for the previous, so commits stay in order.
    await syncing;
    const bytes = cursor.pos;
    syncing = fsyncAsync(fd).then(() => onProgress!(bytes));
    lastCommit = bytes;
  };
  arm();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      arm();
      batch.push(chunk);
      batchBytes += chunk.length;
      onBytes(chunk.length);
      if (batchBytes >= WRITE_BATCH) {
        await flush();
        if (onProgress && cursor.pos - lastCommit >= PROGRESS_BYTES) await commit();
      }
    }
  } finally {
    clearTimeout(timer);
    body.destroy();
    // What arrived is written even when the body broke: the resume starts after it.
    try {
      await flush();
    } finally {
      await syncing?.catch(() => {});
    }
  }
  await syncing;
}

/** Removes the first `n` bytes from `bufs`, in place. */
function dropWritten(bufs: Buffer[], n: number): void {
  while (n > 0 && bufs.length > 0) {
    if (bufs[0].length <= n) {
      n -= bufs[0].length;
      bufs.shift();
    } else {
      bufs[0] = bufs[0].subarray(n);
      n = 0;
    }
  }
}

/** The object's current version, or undefined when it is gone. */
export async function headObject(client: S3Client, bucket: string, key: string): Promise<{ etag: string; size: number } | undefined> {
  try {
    const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { etag: h.ETag ?? '', size: h.ContentLength ?? 0 };
  } catch (err) {
    if (errorStatus(err).status === 404) return undefined;
    throw classifyS3Error(err, `checking s3://${bucket}/${key}`);
  }
}

/** Whether two ETags name the same version (quotes and a weak marker aside). */
export function sameEtag(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return norm(a) === norm(b);
}
