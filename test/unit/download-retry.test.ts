/**
 * The download's retry policy (src/stages/download-retry.ts), on errors as the SDK makes them:
 * what each failed GET means, how many failures in a row an object may have, and the backoff.
 * The same policy under a real fault-injecting proxy: test/integration/faults.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { S3PermanentError } from '../../src/errors.js';
import { errorStatus } from '../../src/s3/errors.js';
import { backoffMs, Breaks, DownloadFailed, getFailure, MAX_BREAKS } from '../../src/stages/download-retry.js';

/** An SDK error as the client throws it for an HTTP answer, with only what the policy may look at. */
function sdkError(name: string, status?: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: status === undefined ? {} : { httpStatusCode: status }, message: name });
}

test('a 412, 404 or 416 GET means the object changed, is gone or is shorter, by status or by name alone', () => {
  assert.equal(getFailure(sdkError('PreconditionFailed', 412), 'x'), 'changed');
  assert.equal(getFailure(sdkError('PreconditionFailed'), 'x'), 'changed');
  assert.equal(getFailure(sdkError('Unknown', 412), 'x'), 'changed');
  assert.equal(getFailure(sdkError('NoSuchKey', 404), 'x'), 'gone');
  assert.equal(getFailure(sdkError('NoSuchKey'), 'x'), 'gone');
  assert.equal(getFailure(sdkError('NotFound', 404), 'x'), 'gone');
  assert.equal(getFailure(sdkError('InvalidRange', 416), 'x'), 'past-end');
  assert.equal(getFailure(sdkError('InvalidRange'), 'x'), 'past-end');
});

test('a refusal that retrying cannot fix ends the run with S3PermanentError naming what was being done', () => {
  for (const [name, status] of [['AccessDenied', 403], ['InvalidAccessKeyId', 403], ['Unknown', 401], ['PermanentRedirect', 301]] as const) {
    assert.throws(() => getFailure(sdkError(name, status), 'downloading s3://b/k'), (e: unknown) => e instanceof S3PermanentError && e.message.startsWith('downloading s3://b/k: '));
  }
});

test('a reset, a timeout, a 5xx or throttling is worth another try', () => {
  const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
  assert.equal(getFailure(reset, 'x'), 'transient');
  assert.equal(getFailure(new Error('no data for 30000 ms'), 'x'), 'transient');
  assert.equal(getFailure(sdkError('InternalError', 500), 'x'), 'transient');
  assert.equal(getFailure(sdkError('SlowDown', 503), 'x'), 'transient');
});

test('errorStatus reads the HTTP status and name of an SDK error, and nothing of another', () => {
  assert.deepEqual(errorStatus(sdkError('NotFound', 404)), { status: 404, name: 'NotFound' });
  assert.deepEqual(errorStatus(new Error('plain')), { status: undefined, name: 'Error' });
  assert.deepEqual(errorStatus(undefined), { status: undefined, name: undefined });
});

test('the backoff doubles from 200 ms to at most 5 s, and waits at least half of that', () => {
  assert.equal(backoffMs(1, 1), 200);
  assert.equal(backoffMs(2, 1), 400);
  assert.equal(backoffMs(5, 1), 3200);
  assert.equal(backoffMs(6, 1), 5000);
  assert.equal(backoffMs(30, 1), 5000);
  assert.equal(backoffMs(1, 0), 100);
  assert.equal(backoffMs(30, 0), 2500);
  for (let attempt = 1; attempt <= 10; attempt++) {
    const ms = backoffMs(attempt);
    assert.ok(ms >= backoffMs(attempt, 0) && ms <= backoffMs(attempt, 1), `attempt ${attempt}: ${ms} ms`);
  }
});

test(`an object may fail ${MAX_BREAKS} times in a row; the next failure fails it, saying how often and why`, () => {
  const breaks = new Breaks();
  for (let i = 0; i < MAX_BREAKS; i++) breaks.add('broke', 'reset');
  assert.throws(
    () => breaks.add('broke', 'the body ended after 10 of 20 bytes'),
    (e: unknown) => e instanceof DownloadFailed && e.message === `download broke ${MAX_BREAKS + 1} times in a row: the body ended after 10 of 20 bytes`,
  );
});

test('progress starts the count of failures in a row over', () => {
  const breaks = new Breaks();
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < MAX_BREAKS; i++) breaks.add('failed', 'reset');
    breaks.progressed();
  }
  for (let i = 0; i < MAX_BREAKS; i++) breaks.add('failed', 'reset');
  assert.throws(() => breaks.add('failed', 'reset'), DownloadFailed);
});

test('a retry counts the failure, then waits the backoff before the next try', async () => {
  const breaks = new Breaks();
  const started = performance.now();
  await breaks.retry('failed', 'reset');
  const waited = performance.now() - started;
  assert.ok(waited >= backoffMs(1, 0) - 5 && waited < 1000, `waited ${waited} ms`);
  for (let i = 1; i < MAX_BREAKS; i++) breaks.add('failed', 'reset');
  await assert.rejects(breaks.retry('failed', 'reset'), DownloadFailed);
});
