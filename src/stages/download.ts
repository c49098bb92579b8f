/**
 * The download stage: streams one object to <local-dir>/input/<rel> through a partial file. An
 * interrupted or broken download resumes with a ranged GET from the bytes already on disk, guarded
 * by the ETag (If-Match), so bytes of two versions of an object never mix.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '../s3/sdk.js';
import { closeSync, constants, ftruncateSync, mkdirSync, openSync, renameSync, rmSync, fstatSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { LimitFunction } from 'p-limit';
import type { Db } from '../state/db.js';
import { finishDownload, getObject, markGone, recordDownloadProgress, restartDownload, setObjectSize, startDownload, type RunRow } from '../state/queries.js';
import { objectPaths } from '../keys/local-layout.js';
import { headObject, sameEtag, streamBody } from './download-body.js';
import { Breaks, DownloadFailed, getFailure } from './download-retry.js';
import { fetchInParts, ObjectChanged, ObjectGone, PART_BYTES, RangesIgnored } from './download-parts.js';
import type { InputFeed } from './input-feed.js';

export { PART_BYTES };

export type DownloadOutcome = 'downloaded' | 'gone';

/**
 * Downloads one object of the run; throws S3PermanentError for errors that end the run. With
 * `parts`, an object of more than one part is fetched in ranged parts through that limiter. A
 * `feed` hears of the bytes written, for a clean running alongside; whenever bytes already written
 * are dropped (a new version, a server that ignores ranges) it is superseded.
 */
export async function downloadObject(db: Db, run: RunRow, client: S3Client, objectId: number, onBytes?: (n: number) => void, parts?: LimitFunction, feed?: InputFeed): Promise<DownloadOutcome> {
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
    feed?.grow(have);
    // Drops the bytes from `to` on; a clean alongside may have read them, so it starts over too.
    const discard = (to: number): number => {
      feed?.supersede();
      ftruncateSync(fd, to);
      return to;
    };
    const breaks = new Breaks();
    let ranges = parts !== undefined;
    for (;;) {
      if (have === row.size && row.size > 0) break;
      if (ranges && row.size - have > PART_BYTES) {
        try {
          await fetchInParts({
            client, bucket: run.bucket!, key: row.key, etag: row.etag, size: row.size, fd, from: have, limit: parts!,
            onBytes: (n) => onBytes?.(n),
            onProgress: (bytes) => recordDownloadProgress(db, objectId, bytes),
            onPrefix: (bytes) => feed?.grow(bytes),
          });
          have = row.size;
        } catch (err) {
          if (err instanceof ObjectGone) return gone(db, run, objectId, fd, paths.partialInput);
          if (err instanceof ObjectChanged) {
            if (sameEtag(err.etag, row.etag)) {
              // The listing's size was stale but the version is the same: keep what is committed.
              if (err.size === row.size) breaks.add('refused', err.message);
              setObjectSize(db, objectId, err.size);
            } else {
              restartDownload(db, objectId, err.etag, err.size);
            }
          } else if (err instanceof RangesIgnored) {
            ranges = false;
          } else {
            throw err;
          }
          // Parts past the committed prefix may be half written: fetch them again.
          row = getObject(db, objectId);
          have = discard(Math.min(row.downloaded_bytes, row.size));
        }
        continue;
      }
      let body: Readable;
      let total: number;
      try {
        const res = await client.send(
          new GetObjectCommand({ Bucket: run.bucket!, Key: row.key, IfMatch: row.etag || undefined, Range: have > 0 ? `bytes=${have}-` : undefined }),
        );
        body = res.Body as Readable;
        if (have > 0 && !res.ContentRange) {
          // The server ignored Range and sent the whole object: write it from the start.
          have = discard(0);
        }
        total = res.ContentRange ? Number(res.ContentRange.split('/')[1]) : (res.ContentLength ?? 0) + have;
        if (res.ETag && !sameEtag(res.ETag, row.etag)) {
          // Another version than the one we hold: the server ignored If-Match (s3rver does, and so
          // do some S3-compatible stores). A full body is the new version: take it. A ranged one
          // would append new bytes to old ones: drop both and start over on the new version.
          restartDownload(db, objectId, res.ETag, total);
          row = getObject(db, objectId);
          // A clean alongside read (or would name) the old version.
          feed?.supersede();
          if (have > 0) {
            body.destroy();
            have = discard(0);
            continue;
          }
        }
      } catch (err) {
        const failure = getFailure(err, `downloading s3://${run.bucket}/${row.key}`);
        if (failure === 'changed') {
          // The object changed since it was listed: start over on the new version.
          const head = await headObject(client, run.bucket!, row.key);
          if (!head) return gone(db, run, objectId, fd, paths.partialInput);
          restartDownload(db, objectId, head.etag, head.size);
          row = getObject(db, objectId);
          have = discard(0);
          continue;
        }
        if (failure === 'gone') return gone(db, run, objectId, fd, paths.partialInput);
        if (failure === 'past-end') {
          if (have === row.size) break;
          // The object is shorter than the bytes we hold: fetch it again from the start.
          have = discard(0);
        }
        await breaks.retry('failed', (err as Error).message);
        continue;
      }
      if (total !== row.size) {
        // The listing's size was stale but the ETag matched (e.g. a listing from a lagging replica): trust the GET.
        setObjectSize(db, objectId, total);
        row = getObject(db, objectId);
      }
      const before = have;
      const cursor = { pos: have };
      let broken: string;
      try {
        await streamBody(body, fd, cursor, (n) => onBytes?.(n), (bytes) => recordDownloadProgress(db, objectId, bytes));
        have = cursor.pos;
        if (have >= row.size) break;
        // Ended cleanly but short: resumed like a break, and counted like one, so a server that
        // keeps doing it cannot keep us here forever.
        broken = `the body ended after ${have} of ${row.size} bytes`;
      } catch (err) {
        // The body broke or stalled: keep what arrived and resume from there.
        have = cursor.pos;
        broken = (err as Error).message;
      }
      if (have > before) breaks.progressed();
      await breaks.retry('broke', broken);
    }
    if (have !== row.size) throw new DownloadFailed(`downloaded ${have} bytes, expected ${row.size}`);
  } finally {
    closeSync(fd);
  }
  // No fsync, of the file or of its folder: an input copy can be fetched again. A SIGKILL leaves
  // the page cache intact; after a power loss, the pipeline finds a 'downloaded' object whose
  // input is not whole and downloads it again (pipeline.ts). Two fsyncs an object were most of
  // the cost of a tiny one.
  mkdirSync(dirname(paths.input), { recursive: true });
  renameSync(paths.partialInput, paths.input);
  finishDownload(db, objectId, row.size, Date.now() - started);
  return 'downloaded';
}

function gone(db: Db, run: RunRow, objectId: number, fd: number, partial: string): DownloadOutcome {
  ftruncateSync(fd, 0);
  rmSync(partial, { force: true });
  markGone(db, run.id, objectId);
  return 'gone';
}
