/**
 * The S3 client as cleaner uses it. Only runs that read S3 import this module (and the SDK).
 */
import type { S3Client as Client } from '@aws-sdk/client-s3';
import { S3Client } from './sdk.js';
import { FileBodyHandler } from './file-body.js';
import { resolveEndpoint, resolveRegion, type S3Settings } from './settings.js';

/** A client with bounded retries and timeouts; path-style addressing for custom endpoints. */
export function makeClient(s: S3Settings): Client {
  const endpoint = resolveEndpoint(s.endpoint);
  return new S3Client({
    region: resolveRegion(s.region),
    endpoint,
    forcePathStyle: endpoint !== undefined,
    // Checksums only where S3 requires them: S3-compatible stores differ, and the SDK's default
    // trailing checksums corrupt streamed uploads on some of them. ETags guard our reads instead.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // The SDK's standard retry: exponential backoff with jitter on throttling, 5xx and resets.
    maxAttempts: Number(process.env.CLEANER_S3_MAX_ATTEMPTS ?? 6),
    requestHandler: new FileBodyHandler({
      connectionTimeout: 10_000,
      // Idle socket timeout: a request or response that sends nothing for this long fails, and is
      // retried. Not `requestTimeout`: since @smithy/node-http-handler 4.x that only logs a warning
      // (unless throwOnRequestTimeout), so a stalled listing used to hang the run forever.
      socketTimeout: Number(process.env.CLEANER_S3_IDLE_TIMEOUT_MS ?? 60_000),
    }),
  });
}
