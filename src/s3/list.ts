/** Lists every object under a prefix, page by page, with the SDK's paginator. */
import type { S3Client } from '@aws-sdk/client-s3';
import { paginateListObjectsV2 } from './sdk.js';
import { classifyS3Error } from './errors.js';
import { CleanerError, S3UnavailableError } from '../errors.js';

export interface S3Listing {
  key: string;
  etag: string;
  size: number;
}

/**
 * Yields every object under `prefix` (one page at a time, so memory stays flat), folder markers
 * excluded; with `startAfter`, only the keys after it.
 */
export async function* listObjects(client: S3Client, bucket: string, prefix: string, startAfter?: string): AsyncGenerator<S3Listing[]> {
  try {
    for await (const page of paginateListObjectsV2({ client, pageSize: 1000 }, { Bucket: bucket, Prefix: prefix, StartAfter: startAfter || undefined })) {
      const out: S3Listing[] = [];
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        // "folder/" keys with no bytes are console-made folder markers, not data.
        if (o.Key.endsWith('/') && (o.Size ?? 0) === 0) continue;
        out.push({ key: o.Key, etag: o.ETag ?? '', size: o.Size ?? 0 });
      }
      yield out;
    }
  } catch (err) {
    const e = classifyS3Error(err, `listing s3://${bucket}/${prefix}`);
    if (e instanceof CleanerError) throw e;
    // Still failing after the SDK's retries with backoff: say so plainly; the run can be resumed.
    throw new S3UnavailableError(`listing s3://${bucket}/${prefix} failed after retries: ${e.message.split('\n')[0]}; try again later with cleaner resume`);
  }
}
