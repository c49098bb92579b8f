/**
 * The S3 client as cleaner uses it, and the line between errors worth retrying and errors that
 * end the run.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { S3PermanentError } from '../errors.js';

export interface S3Settings {
  endpoint?: string | null;
  region?: string | null;
}

/** The endpoint in force: the flag, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, as the AWS tools do. */
export function resolveEndpoint(flag?: string | null): string | undefined {
  return flag || process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL || undefined;
}

/** The region in force: the flag, else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1. */
export function resolveRegion(flag?: string | null): string {
  return flag || process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
}

/** A client with bounded retries and timeouts; path-style addressing for custom endpoints. */
export function makeClient(s: S3Settings): S3Client {
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
    requestHandler: new NodeHttpHandler({
      connectionTimeout: 10_000,
      // Idle socket timeout: a request or response that sends nothing for this long fails, and is
      // retried. Not `requestTimeout`: since @smithy/node-http-handler 4.x that only logs a warning
      // (unless throwOnRequestTimeout), so a stalled listing used to hang the run forever.
      socketTimeout: Number(process.env.CLEANER_S3_IDLE_TIMEOUT_MS ?? 60_000),
    }),
  });
}

const PERMANENT = new Set([
  'AccessDenied',
  'AllAccessDisabled',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'NoSuchBucket',
  'InvalidBucketName',
  'PermanentRedirect',
  'AuthorizationHeaderMalformed',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AccountProblem',
  'InvalidObjectState',
]);

/** Turns an SDK error that retrying cannot fix into S3PermanentError; returns other errors unchanged. */
export function classifyS3Error(err: unknown, what: string): Error {
  const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (PERMANENT.has(name) || status === 401 || status === 403 || status === 301) {
    const hint =
      name === 'NoSuchBucket' ? 'check --bucket / --source'
      : name === 'PermanentRedirect' || status === 301 ? 'the bucket is in another region: pass --region'
      : name === 'CredentialsProviderError' ? 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run where an instance role is available'
      : 'check the credentials and their permissions';
    return new S3PermanentError(`${what}: ${name || `HTTP ${status}`}${e.message && e.message !== name ? ` (${oneLine(e.message)})` : ''}; ${hint}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

function oneLine(s: string): string {
  return s.split('\n')[0].slice(0, 200);
}
