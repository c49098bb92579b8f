/** The line between S3 errors worth retrying and errors that end the run. */
import { S3PermanentError } from '../errors.js';

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

/** The HTTP status and error name of an SDK error, where it has them. */
export function errorStatus(err: unknown): { status?: number; name?: string } {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return { status: e?.$metadata?.httpStatusCode, name: e?.name };
}

/** Turns an SDK error that retrying cannot fix into S3PermanentError; returns other errors unchanged. */
export function classifyS3Error(err: unknown, what: string): Error {
  const e = err as { name?: string; Code?: string; message?: string };
  const name = e.Code ?? e.name ?? '';
  const { status } = errorStatus(err);
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
