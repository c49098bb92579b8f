/**
 * Where S3 is: the endpoint and region in force, from the flags or the environment the AWS tools
 * read. Kept apart from the client so a run on local files never loads the AWS SDK (about 20 MB).
 */
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
