/**
 * Downloads a large object as ranged GETs of PART_BYTES each, several at once, into their places in
 * the partial file. Parts of all objects queue in one FIFO limiter, so the run's connections work
 * on the first object's bytes before the next one's: the first object is ready for cleaning after
 * a fraction of the download, where whole-object GETs side by side would finish all together at
 * the end. (It is also how S3 serves one connection's worth of bandwidth per part.)
 *
 * Progress is the prefix of parts that are complete, fsynced, then committed: a resume starts
 * there, and parts beyond it are fetched again.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '../s3/sdk.js';
import { setMaxListeners } from 'node:events';
import type { Readable } from 'node:stream';
import type { LimitFunction } from 'p-limit';
import { fsyncAsync, headObject, PROGRESS_BYTES, sameEtag, streamBody, type Cursor } from './download-body.js';
import { Breaks, getFailure } from './download-retry.js';

/**
 * Bytes per ranged GET. CLEANER_PART_BYTES changes it: tests make it small to get parts on small
 * objects, and 0 fetches every object whole, with one GET (for a store on the same machine, where
 * one connection already outruns the clean and more only cost CPU).
 */
const partEnv = Number(process.env.CLEANER_PART_BYTES ?? 8 << 20);
export const PART_BYTES = partEnv > 0 ? partEnv : Infinity;

/** The object is another version (or another size) than the one being fetched: start it over. */
export class ObjectChanged extends Error {
  constructor(
    readonly etag: string,
    readonly size: number,
  ) {
    super(`the object changed (ETag ${etag}, ${size} bytes)`);
  }
}
/** The object was deleted while it was being fetched. */
export class ObjectGone extends Error {}
/** The server answered a ranged GET with the whole object: it does not do ranges. */
export class RangesIgnored extends Error {}
/** A sibling part failed, and this one stopped for it. */
class Aborted extends Error {}

export interface PartsJob {
  client: S3Client;
  bucket: string;
  key: string;
  etag: string;
  size: number;
  fd: number;
  /** The committed prefix: fetching starts here. */
  from: number;
  limit: LimitFunction;
  onBytes: (n: number) => void;
  /** Records a prefix that is on disk. */
  onProgress: (bytes: number) => void;
  /** Hears of a longer prefix written (not yet fsynced). */
  onPrefix?: (bytes: number) => void;
}

/**
 * Fetches [from, size) in parts and resolves once every byte is written and fsynced. Throws
 * ObjectChanged, ObjectGone, RangesIgnored, DownloadFailed or S3PermanentError for the object as a
 * whole, after every part it started has stopped (so nothing writes to the file any more).
 */
export async function fetchInParts(job: PartsJob): Promise<void> {
  const ranges: Array<[number, number]> = [];
  for (let a = job.from; a < job.size; a += PART_BYTES) ranges.push([a, Math.min(a + PART_BYTES, job.size)]);
  const done = ranges.map(() => false);
  const abort = new AbortController();
  // Every part's request listens on it (the SDK, and the body's reader): not a leak.
  setMaxListeners(ranges.length * 2 + 10, abort.signal);
  let next = 0;
  let lastCommit = job.from;
  let syncing: Promise<void> = Promise.resolve();
  let failure: unknown;

  const partDone = (i: number) => {
    done[i] = true;
    while (next < ranges.length && done[next]) next++;
    const prefix = next < ranges.length ? ranges[next][0] : job.size;
    job.onPrefix?.(prefix);
    if (prefix - lastCommit >= PROGRESS_BYTES || (prefix === job.size && lastCommit < prefix)) {
      lastCommit = prefix;
      // In order: each commit waits for the fsync and commit before it.
      syncing = syncing.then(() => fsyncAsync(job.fd)).then(() => job.onProgress(prefix));
      syncing.catch(() => {});
    }
  };

  await Promise.all(
    ranges.map(([a, b], i) =>
      job.limit(async () => {
        if (abort.signal.aborted) return;
        try {
          await fetchPart(job, a, b, abort.signal);
          partDone(i);
        } catch (err) {
          if (!(err instanceof Aborted)) failure ??= err;
          abort.abort();
        }
      }),
    ),
  );
  try {
    await syncing;
  } catch (err) {
    failure ??= err;
  }
  if (failure !== undefined) throw failure;
}

/** Fetches [from, to), resuming a broken body where it stopped. */
async function fetchPart(job: PartsJob, from: number, to: number, signal: AbortSignal): Promise<void> {
  const cursor: Cursor = { pos: from };
  const breaks = new Breaks();
  while (cursor.pos < to) {
    if (signal.aborted) throw new Aborted();
    let body: Readable;
    try {
      const res = await job.client.send(
        new GetObjectCommand({ Bucket: job.bucket, Key: job.key, IfMatch: job.etag || undefined, Range: `bytes=${cursor.pos}-${to - 1}` }),
        { abortSignal: signal },
      );
      body = res.Body as Readable;
      if (!res.ContentRange?.startsWith(`bytes ${cursor.pos}-`)) {
        body.destroy();
        throw new RangesIgnored('the server ignored Range');
      }
      const total = Number(res.ContentRange.split('/')[1]);
      // A server that ignores If-Match (s3rver does, and some S3-compatible stores) still names the version it sent.
      if ((res.ETag && !sameEtag(res.ETag, job.etag)) || total !== job.size) {
        body.destroy();
        throw new ObjectChanged(res.ETag ?? job.etag, total);
      }
    } catch (err) {
      if (signal.aborted) throw new Aborted();
      if (err instanceof RangesIgnored || err instanceof ObjectChanged) throw err;
      const failure = getFailure(err, `downloading s3://${job.bucket}/${job.key}`);
      if (failure === 'gone') throw new ObjectGone();
      if (failure === 'changed' || failure === 'past-end') {
        // Another version, or a shorter one, than we are fetching: ask what is there now.
        const head = await headObject(job.client, job.bucket, job.key);
        throw head ? new ObjectChanged(head.etag, head.size) : new ObjectGone();
      }
      await breaks.retry('failed', (err as Error).message);
      continue;
    }
    if (signal.aborted) {
      body.destroy();
      throw new Aborted();
    }
    const before = cursor.pos;
    const stop = () => body.destroy(new Aborted());
    signal.addEventListener('abort', stop);
    let broken: string;
    try {
      await streamBody(body, job.fd, cursor, job.onBytes);
      if (cursor.pos >= to) return;
      broken = `the body ended after ${cursor.pos - from} of ${to - from} bytes of a part`;
    } catch (err) {
      // The body broke or stalled: keep what arrived and resume from there.
      if (signal.aborted) throw new Aborted();
      broken = (err as Error).message;
    } finally {
      signal.removeEventListener('abort', stop);
    }
    if (cursor.pos > before) breaks.progressed();
    await breaks.retry('broke', broken);
  }
}
