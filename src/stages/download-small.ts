/**
 * A small object's happy path: one GET read into memory. Anything unusual (an error, another
 * version, a size other than the listing's, a stall) gives up, and the object takes the download
 * stage's path (download.ts), which knows how to retry, resume and tell a changed object from a
 * deleted one: the fast path never has to.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ObjectRow, RunRow } from '../state/queries.js';
import { sameEtag } from './download-body.js';

/** A GET that sends nothing for this long is given up (download.ts then takes the object). */
const STALL_MS = Number(process.env.CLEANER_STALL_TIMEOUT_MS ?? 30_000);

/** The object's bytes when one GET brought exactly the listed version whole; undefined otherwise. */
export async function fetchSmall(client: S3Client, run: RunRow, row: ObjectRow): Promise<Buffer | undefined> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), STALL_MS);
  try {
    const res = await client.send(new GetObjectCommand({ Bucket: run.bucket!, Key: row.key, IfMatch: row.etag || undefined }), { abortSignal: abort.signal });
    if (!res.Body) return undefined;
    if (res.ETag && !sameEtag(res.ETag, row.etag)) {
      (res.Body as { destroy?: () => void }).destroy?.();
      return undefined;
    }
    const bytes = await res.Body.transformToByteArray();
    if (bytes.length !== row.size) return undefined;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
  }
}
