/**
 * Puts one local file at its destination key exactly once, resumably: a small file in one PUT, a
 * larger one as a multipart upload whose UploadId and completed parts are committed to SQLite as
 * they finish (several at a time), so a crash resumes the upload with the parts not yet committed. The object appears whole or not at
 * all (S3 shows a multipart object only once it is completed).
 */
import { open, type FileHandle } from 'node:fs/promises';
import pLimit from 'p-limit';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Db } from '../state/db.js';
import { deliveryParts, finishDeliveryFile, getDeliveryFile, recordDeliveryPart, setDeliveryUpload, type DeliveryKind } from '../state/queries.js';
import { abortUpload, completeUpload, createUpload, headObject, isNoSuchUpload, putObject, uploadPart, type Target, type UploadBody } from '../s3/upload.js';
import { FileRange } from '../s3/file-body.js';

const MIB = 1 << 20;
/** S3's most parts in one upload. */
const MAX_PARTS = 10_000;

/**
 * Files larger than this go up in parts of at least this size. 8 MiB, as the AWS CLI does: a part
 * costs a request. Parts are streamed from the file (FileRange), so their size costs no memory.
 * CLEANER_DEST_PART_BYTES lowers it for tests (S3 itself wants 5 MiB or more, but for the last part).
 */
export function minPartBytes(): number {
  return Number(process.env.CLEANER_DEST_PART_BYTES ?? 8 * MIB);
}

/** The part size for a file of `size` bytes: 0 for a single PUT, else whole MiB, within 10,000 parts. */
export function partSizeFor(size: number): number {
  const least = minPartBytes();
  if (size <= least) return 0;
  // A 5 TiB object (S3's largest) needs 525 MiB parts: streamed from the file like any other.
  return Math.max(least, Math.ceil(size / MAX_PARTS / MIB) * MIB);
}

/**
 * Bodies of 1 MiB or more (parts, large single PUTs) in flight at once, across every file this
 * process delivers, whether one large file goes up 2 parts at a time or 8 large objects are
 * delivered at once. Each streams from its file through a 256 KiB read buffer; the limit keeps
 * the uploads' share of connections and CPU what it was when each part was held whole in memory
 * (2 × 8 MiB, which was 16 MiB of the process's peak RSS). Smaller bodies do not wait for a slot.
 */
const PART_SLOTS = 2;
const partSlots = pLimit(PART_SLOTS);

/**
 * Passes `length` bytes of the file at `start` to `send`, within the process-wide limit on large
 * bodies in flight: as a FileRange from 1 MiB up (every attempt of the request reads it afresh
 * from the file), read into memory below that (a lake of small files must not go up one at a time).
 */
function withPart<T>(file: FileHandle, start: number, length: number, send: (body: UploadBody) => Promise<T>): Promise<T> {
  if (length < MIB) return readInto(file, Buffer.allocUnsafe(length), start).then(send);
  return partSlots(() => send(new FileRange(file, start, length)));
}

/** What one file's delivery needs: the state row it is tracked by, the client, where it goes. */
export interface FileDelivery {
  db: Db;
  client: S3Client;
  objectId: number;
  dest: string;
  kind: DeliveryKind;
  path: string;
  target: Target;
  meta: Record<string, string>;
  /** Told after every part (or the single PUT) reaches the destination; tests count on it. */
  onPart?: (bytes: number) => void;
}

/** Uploads the file unless the state says it is already complete at the destination. */
export async function deliverFile(f: FileDelivery): Promise<void> {
  const row = getDeliveryFile(f.db, f.objectId, f.dest, f.kind);
  if (row.done) return;
  const file = await open(f.path, 'r');
  try {
    const size = (await file.stat()).size;
    if (size !== row.size) throw new Error(`${f.path} is ${size} bytes, ${row.size} when its delivery began: it changed under the upload`);
    if (row.part_size === 0) {
      await withPart(file, 0, size, (body) => putObject(f.client, f.target, body, f.meta));
      f.onPart?.(size);
    } else {
      await multipart(f, file, size, row.part_size, row.upload_id);
    }
  } finally {
    await file.close();
  }
  finishDeliveryFile(f.db, f.objectId, f.dest, f.kind);
}

async function multipart(f: FileDelivery, file: FileHandle, size: number, partSize: number, openUpload: string | null): Promise<void> {
  let uploadId = openUpload;
  if (!uploadId) {
    uploadId = await createUpload(f.client, f.target, f.meta);
    setDeliveryUpload(f.db, f.objectId, f.dest, f.kind, uploadId);
  }
  const parts = deliveryParts(f.db, f.objectId, f.dest, f.kind);
  const count = Math.ceil(size / partSize);
  // Every part committed before a crash: the upload may have been completed too, and a store that
  // forgets a completed upload may not answer NoSuchUpload (s3rver answers 500). Look first.
  if (openUpload && parts.size === count && (await sameObjectThere(f, size))) return;
  let completing = false;
  try {
    // Parts go up PART_SLOTS at a time (fewer when other files hold slots), each committed as it
    // completes, in any order: a crash loses at most the parts in flight.
    const todo = Array.from({ length: count }, (_, i) => i + 1).filter((n) => !parts.has(n));
    let failed = false;
    const one = async (n: number) => {
      if (failed) return; // after a failure, start no more parts
      const start = (n - 1) * partSize;
      const length = Math.min(partSize, size - start);
      const etag = await withPart(file, start, length, (body) => uploadPart(f.client, f.target, uploadId, n, body));
      recordDeliveryPart(f.db, f.objectId, f.dest, f.kind, uploadId, n, etag);
      parts.set(n, etag);
      f.onPart?.(length);
    };
    // Every part settles before a failure is acted on: an abort must not race parts still in flight.
    const results = await Promise.allSettled(todo.map((n) => one(n).catch((err) => ((failed = true), Promise.reject(err)))));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    completing = true;
    await completeUpload(f.client, f.target, uploadId, parts);
  } catch (err) {
    // A completion whose answer was lost (a reset) is retried by the SDK on an upload that is no
    // longer open: S3 answers NoSuchUpload, s3rver 500 every time. The object tells if it happened.
    if (completing && !isNoSuchUpload(err) && (await sameObjectThere(f, size))) return;
    if (!isNoSuchUpload(err)) {
      // Giving up: the upload must not stay open (its parts are stored, and billed, until aborted).
      await abortUpload(f.client, f.target, uploadId).catch(() => undefined);
      setDeliveryUpload(f.db, f.objectId, f.dest, f.kind, null);
      throw err;
    }
    // The upload is gone: completed just before a crash (the object is there), or aborted or
    // expired by a lifecycle rule (start over). The object's metadata tells which.
    if (await sameObjectThere(f, size)) return;
    if (!openUpload) throw err; // a fresh upload vanished: not something starting over would fix
    setDeliveryUpload(f.db, f.objectId, f.dest, f.kind, null);
    await multipart(f, file, size, partSize, null);
  }
}

/** Whether the destination already holds this very file (same size, same source version and rules). */
async function sameObjectThere(f: FileDelivery, size: number): Promise<boolean> {
  const there = await headObject(f.client, f.target);
  if (!there || there.size !== size) return false;
  return ['source-etag', 'rules-hash', 'lines'].every((k) => there.meta[k] === f.meta[k]);
}

/**
 * Puts a local file at `t` whole, not resumably: one PUT, or parts one at a time past the part
 * size. For files written again whole when a
 * run resumes (the run report, the loader manifest). An upload that fails is aborted.
 */
export async function putFile(client: S3Client, t: Target, path: string): Promise<void> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const partSize = partSizeFor(size);
    if (partSize === 0) return await withPart(file, 0, size, (body) => putObject(client, t, body, {}));
    const uploadId = await createUpload(client, t, {});
    try {
      const parts = new Map<number, string>();
      for (let n = 1; (n - 1) * partSize < size; n++) {
        const start = (n - 1) * partSize;
        parts.set(n, await withPart(file, start, Math.min(partSize, size - start), (body) => uploadPart(client, t, uploadId, n, body)));
      }
      await completeUpload(client, t, uploadId, parts);
    } catch (err) {
      await abortUpload(client, t, uploadId).catch(() => undefined);
      throw err;
    }
  } finally {
    await file.close();
  }
}

/** Fills `buf` from the file at `start`. */
async function readInto(file: FileHandle, buf: Buffer, start: number): Promise<Buffer> {
  const length = buf.length;
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, start + got);
    if (bytesRead === 0) throw new Error(`short read at ${start + got}: the file shrank under the upload`);
    got += bytesRead;
  }
  return buf;
}
