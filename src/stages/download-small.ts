/**
 * A small object's happy path: one GET read into memory. Anything unusual (an error, another
 * version, a size other than the listing's, a stall) gives up, and the object takes the download
 * stage's path (download.ts), which knows how to retry, resume and tell a changed object from a
 * deleted one: the fast path never has to.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { GetObjectCommand } from '../s3/sdk.js';
import { leanGet, type LeanGet } from '../s3/lean-get.js';
import type { ObjectRow } from '../state/queries.js';
import { sameEtag } from './download-body.js';

/** A GET that sends nothing for this long is given up (download.ts then takes the object). */
const STALL_MS = Number(process.env.CLEANER_STALL_TIMEOUT_MS ?? 30_000);

/** Fetches a small object: its bytes when one GET brought exactly the listed version whole; undefined otherwise. */
export type FetchSmall = (row: ObjectRow) => Promise<Buffer | undefined>;

/**
 * The small-object GET of a run on `bucket`: the lean GET (s3/lean-get.ts) at most `sockets` at
 * once, where the bucket takes plain SigV4; the SDK's GetObject otherwise, or with
 * CLEANER_SMALL_GET=sdk (to compare the two).
 */
export async function smallFetcher(client: S3Client, bucket: string, sockets: number): Promise<FetchSmall> {
  const lean = process.env.CLEANER_SMALL_GET === 'sdk' ? undefined : await leanGet(client, bucket, sockets);
  const get: LeanGet = lean ?? sdkGet(client, bucket);
  return async (row) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), STALL_MS);
    try {
      const got = await get(row.key, row.etag, row.size, abort.signal);
      if (!got || (got.etag && !sameEtag(got.etag, row.etag))) return undefined;
      return got.body;
    } catch {
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  };
}

/** The same GET through the SDK's GetObject. */
function sdkGet(client: S3Client, bucket: string): LeanGet {
  return async (key, etag, size, signal) => {
    const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, IfMatch: etag || undefined }), { abortSignal: signal });
    if (!res.Body) return undefined;
    if (res.ETag && !sameEtag(res.ETag, etag)) {
      (res.Body as { destroy?: () => void }).destroy?.();
      return undefined;
    }
    const bytes = await res.Body.transformToByteArray();
    if (bytes.length !== size) return undefined;
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), etag: res.ETag };
  };
}
