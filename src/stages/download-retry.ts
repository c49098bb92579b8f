/**
 * The download's retry policy, one for whole-object and ranged GETs alike: what a failed GET says
 * about the object, how many failures in a row an object (or a part of one) may have before it
 * fails, and how long to wait before the next try. The SDK's own retries (client.ts) come first:
 * a failure that reaches this policy has already outlasted them, or broke a body mid-stream.
 */
import { S3PermanentError } from '../errors.js';
import { classifyS3Error, errorStatus } from '../s3/errors.js';

/** Failures in a row, without a byte of progress, before the object is failed. */
export const MAX_BREAKS = Number(process.env.CLEANER_MAX_BODY_RETRIES ?? 8);

/** A download that kept failing: the object fails, the run goes on. */
export class DownloadFailed extends Error {}

/**
 * What a failed GET says about the object:
 * - `changed`: 412, it is no longer the version asked for (If-Match);
 * - `gone`: 404, it was deleted;
 * - `past-end`: 416, the range starts past its end (it is shorter than the bytes we hold);
 * - `transient`: anything else that is not permanent (network, 5xx, throttling): try again.
 */
export type GetFailure = 'changed' | 'gone' | 'past-end' | 'transient';

/** What a failed GET of `what` means; throws S3PermanentError for a failure that ends the run. */
export function getFailure(err: unknown, what: string): GetFailure {
  const { status, name } = errorStatus(err);
  if (status === 412 || name === 'PreconditionFailed') return 'changed';
  if (status === 404 || name === 'NoSuchKey') return 'gone';
  if (status === 416 || name === 'InvalidRange') return 'past-end';
  const classified = classifyS3Error(err, what);
  if (classified instanceof S3PermanentError) throw classified;
  return 'transient';
}

/** Milliseconds to wait after failure number `attempt` in a row: doubling from 200 ms up to 5 s, less up to half at random. */
export function backoffMs(attempt: number, random = Math.random()): number {
  return Math.min(5000, 100 * 2 ** attempt) * (0.5 + random / 2);
}

/** Counts the failures in a row of one download, or one part of one. */
export class Breaks {
  private n = 0;

  /** Bytes arrived since the last failure: the count starts over. */
  progressed(): void {
    this.n = 0;
  }

  /** Counts a failure; past MAX_BREAKS in a row, throws DownloadFailed saying "download <verb> N times in a row: <why>". */
  add(verb: string, why: string): void {
    if (++this.n > MAX_BREAKS) throw new DownloadFailed(`download ${verb} ${this.n} times in a row: ${why}`);
  }

  /** Counts a failure as `add` does, then waits before the next try. */
  async retry(verb: string, why: string): Promise<void> {
    this.add(verb, why);
    await new Promise((r) => setTimeout(r, backoffMs(this.n)));
  }
}
