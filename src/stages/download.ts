/**
 * The download stage: streams one object to <local-dir>/input/<rel> through a partial file. An
 * interrupted or broken download resumes with a ranged GET from the bytes already on disk, guarded
 * by the ETag (If-Match), so bytes of two versions of an object never mix.
 */
import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, fstatSync } from 'node:fs';
import { constants, write } from 'node:fs';
import { promisify } from 'node:util';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { classifyS3Error } from '../s3/client.js';
import { S3PermanentError } from '../errors.js';
import type { Db } from '../state/db.js';
import { finishDownload, getObject, markGone, recordDownloadProgress, restartDownload, startDownload, type ObjectRow, type RunRow } from '../state/queries.js';
import { objectPaths } from './clean-file.js';

const writeAsync = promisify(write);

/** Progress is fsynced and committed this often, bounding what a crash makes us fetch again. */
const PROGRESS_BYTES = 8 << 20;
/** A body that sends nothing for this long is abandoned and resumed from its offset. */
const STALL_MS = Number(process.env.CLEANER_STALL_TIMEOUT_MS ?? 30_000);
/** Breaks of the body in a row, without progress, before the object is failed. */
const MAX_BREAKS = Number(process.env.CLEANER_MAX_BODY_RETRIES ?? 8);

export type DownloadOutcome = 'downloaded' | 'gone';

/** A download that kept failing: the object fails, the run goes on. */
export class DownloadFailed extends Error {}

/** Downloads one object of the run; throws S3PermanentError for errors that end the run. */
export async function downloadObject(db: Db, run: RunRow, client: S3Client, objectId: number, onBytes?: (n: number) => void): Promise<DownloadOutcome> {
  const started = Date.now();
  startDownload(db, objectId);
  let row = getObject(db, objectId);
  const paths = objectPaths(run.local_dir, row.rel_path);
  mkdirSync(dirname(paths.partialInput), { recursive: true });
  // Not O_APPEND: positional writes are ignored under O_APPEND on Linux.
  const fd = openSync(paths.partialInput, constants.O_RDWR | constants.O_CREAT, 0o666);
  try {
    // Bytes past the last committed progress may not have reached the disk: fetch them again.
    let have = Math.min(fstatSync(fd).size, row.downloaded_bytes);
    ftruncateSync(fd, have);
    let breaks = 0;
    for (;;) {
      if (have === row.size && row.size > 0) break;
      let body: Readable;
      let total: number;
      try {
        const res = await client.send(
          new GetObjectCommand({ Bucket: run.bucket!, Key: row.key, IfMatch: row.etag || undefined, Range: have > 0 ? `bytes=${have}-` : undefined }),
        );
        body = res.Body as Readable;
        if (have > 0 && !res.ContentRange) {
          // The server ignored Range and sent the whole object: write it from the start.
          ftruncateSync(fd, 0);
          have = 0;
        }
        total = res.ContentRange ? Number(res.ContentRange.split('/')[1]) : (res.ContentLength ?? 0) + have;
        if (res.ETag && !sameEtag(res.ETag, row.etag)) {
          // Another version than the one we hold: the server ignored If-Match (s3rver does, and so
          // do some S3-compatible stores). A full body is the new version: take it. A ranged one
          // would append new bytes to old ones: drop both and start over on the new version.
          restartDownload(db, objectId, res.ETag, total);
          row = getObject(db, objectId);
          if (have > 0) {
            body.destroy();
            ftruncateSync(fd, 0);
            have = 0;
            continue;
          }
        }
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        const name = (err as { name?: string }).name;
        if (status === 412 || name === 'PreconditionFailed') {
          // The object changed since it was listed: start over on the new version.
          const head = await headObject(client, run.bucket!, row.key);
          if (!head) return gone(db, run, objectId, fd, paths.partialInput);
          restartDownload(db, objectId, head.etag, head.size);
          row = getObject(db, objectId);
          ftruncateSync(fd, 0);
          have = 0;
          continue;
        }
        if (status === 404 || name === 'NoSuchKey') return gone(db, run, objectId, fd, paths.partialInput);
        if (status === 416 || name === 'InvalidRange') {
          if (have === row.size) break;
          ftruncateSync(fd, 0);
          have = 0;
        }
        const classified = classifyS3Error(err, `downloading s3://${run.bucket}/${row.key}`);
        if (classified instanceof S3PermanentError) throw classified;
        if (++breaks > MAX_BREAKS) throw new DownloadFailed(`download failed ${breaks} times in a row: ${(err as Error).message}`);
        await backoff(breaks);
        continue;
      }
      if (total !== row.size) {
        // The listing's size was stale but the ETag matched (e.g. a listing from a lagging replica): trust the GET.
        db.prepare('UPDATE objects SET size = ? WHERE id = ?').run(total, objectId);
        row = getObject(db, objectId);
      }
      const before = have;
      let broken: string;
      try {
        have = await streamBody(body, fd, have, (n) => {
          onBytes?.(n);
        }, (bytes) => {
          fsyncSync(fd);
          recordDownloadProgress(db, objectId, bytes);
        });
        if (have >= row.size) break;
        // Ended cleanly but short: resumed like a break, and counted like one, so a server that
        // keeps doing it cannot keep us here forever.
        broken = `the body ended after ${have} of ${row.size} bytes`;
      } catch (err) {
        // The body broke or stalled: keep what arrived and resume from there.
        have = fstatSync(fd).size;
        broken = (err as Error).message;
      }
      if (have > before) breaks = 0;
      if (++breaks > MAX_BREAKS) throw new DownloadFailed(`download broke ${breaks} times in a row: ${broken}`);
      await backoff(breaks);
    }
    if (have !== row.size) throw new DownloadFailed(`downloaded ${have} bytes, expected ${row.size}`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  mkdirSync(dirname(paths.input), { recursive: true });
  renameSync(paths.partialInput, paths.input);
  fsyncDir(dirname(paths.input));
  finishDownload(db, objectId, row.size, Date.now() - started);
  return 'downloaded';
}

async function streamBody(body: Readable, fd: number, start: number, onBytes: (n: number) => void, onProgress: (bytes: number) => void): Promise<number> {
  let pos = start;
  let lastCommit = start;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new Error(`no data for ${STALL_MS} ms`)), STALL_MS);
  };
  arm();
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      arm();
      let off = 0;
      while (off < chunk.length) {
        const { bytesWritten } = await writeAsync(fd, chunk, off, chunk.length - off, pos);
        off += bytesWritten;
        pos += bytesWritten;
      }
      onBytes(chunk.length);
      if (pos - lastCommit >= PROGRESS_BYTES) {
        onProgress(pos);
        lastCommit = pos;
      }
    }
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
  return pos;
}

async function headObject(client: S3Client, bucket: string, key: string): Promise<{ etag: string; size: number } | undefined> {
  try {
    const h = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { etag: h.ETag ?? '', size: h.ContentLength ?? 0 };
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return undefined;
    throw classifyS3Error(err, `checking s3://${bucket}/${key}`);
  }
}

/** Whether two ETags name the same version (quotes and a weak marker aside). */
function sameEtag(a: string, b: string): boolean {
  const norm = (s: string) => s.trim().replace(/^W\//, '').replace(/^"|"$/g, '');
  return norm(a) === norm(b);
}

function gone(db: Db, run: RunRow, objectId: number, fd: number, partial: string): DownloadOutcome {
  ftruncateSync(fd, 0);
  rmSync(partial, { force: true });
  markGone(db, run.id, objectId);
  return 'gone';
}

function backoff(attempt: number): Promise<void> {
  const ms = Math.min(5000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((r) => setTimeout(r, ms));
}

/** Makes a rename in `dir` durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export type { ObjectRow };
