/**
 * The S3 writes delivery needs, one function each, with the destination's errors mapped once:
 * what retrying cannot fix becomes S3PermanentError (exit 3); what the SDK's retries with backoff
 * could not get through becomes S3UnavailableError (the run can be resumed).
 *
 * Only single-object calls are used: s3rver (and some S3-compatible stores) lack DeleteObjects,
 * ListParts and ListMultipartUploads, and delivery keeps what it would need them for in SQLite.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from './sdk.js';
import { CleanerError, S3PermanentError, S3UnavailableError } from '../errors.js';
import { classifyS3Error, errorStatus } from './errors.js';
import type { FileRange } from './file-body.js';

/** Where one object goes, and what it is called in messages. */
export interface Target {
  bucket: string;
  key: string;
}

const url = (t: Target) => `s3://${t.bucket}/${t.key}`;

/** Runs one call; maps its failure to a typed error naming `what` and the destination key. */
async function call<T>(what: string, t: Target, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw destError(err, `${what} ${url(t)}`);
  }
}

/** A destination failure as a typed error: permanent (exit 3), or still failing after the SDK's retries. */
export function destError(err: unknown, what: string): Error {
  // classifyS3Error's hint for it names the source's flags.
  if (errorStatus(err).name === 'NoSuchBucket') return new S3PermanentError(`${what}: NoSuchBucket: the destination bucket does not exist; create it or fix --dest`);
  const e = classifyS3Error(err, what);
  if (e instanceof CleanerError) return e;
  if (isNoSuchUpload(err)) return e;
  return new S3UnavailableError(`${what} failed after retries: ${e.message.split('\n')[0]}; try again later with cleaner resume`);
}

/** Whether an error (raw, or as destError passed it on) says the multipart upload is no longer open. */
export function isNoSuchUpload(err: unknown): boolean {
  const { name, status } = errorStatus(err);
  return name === 'NoSuchUpload' || (status === 404 && name !== 'NoSuchBucket');
}

/**
 * What an upload sends: bytes in memory, or a range of a local file that every attempt reads
 * afresh (the client's FileBodyHandler streams it; the SDK's types know nothing of it).
 */
export type UploadBody = Buffer | FileRange;
const asBody = (b: UploadBody) => b as Buffer;

/** Stores `body` at `t` in one PUT, with user metadata. */
export async function putObject(client: S3Client, t: Target, body: UploadBody, meta: Record<string, string>): Promise<void> {
  await call('uploading', t, () => client.send(new PutObjectCommand({ Bucket: t.bucket, Key: t.key, Body: asBody(body), ContentLength: body.length, Metadata: meta })));
}

/** Opens a multipart upload at `t` (the metadata is the finished object's); returns its UploadId. */
export async function createUpload(client: S3Client, t: Target, meta: Record<string, string>): Promise<string> {
  const out = await call('starting the upload of', t, () => client.send(new CreateMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, Metadata: meta })));
  if (!out.UploadId) throw new S3UnavailableError(`starting the upload of ${url(t)}: the store returned no UploadId`);
  return out.UploadId;
}

/** Uploads part `n` of an open upload; returns the part's ETag. Throws the raw NoSuchUpload when the upload is gone. */
export async function uploadPart(client: S3Client, t: Target, uploadId: string, n: number, body: UploadBody): Promise<string> {
  const out = await call(`uploading part ${n} of`, t, () =>
    client.send(new UploadPartCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, PartNumber: n, Body: asBody(body), ContentLength: body.length })),
  );
  if (!out.ETag) throw new S3UnavailableError(`uploading part ${n} of ${url(t)}: the store returned no ETag`);
  return out.ETag;
}

/** Completes an upload from its parts (in part order): the object appears whole, at once. */
export async function completeUpload(client: S3Client, t: Target, uploadId: string, parts: Map<number, string>): Promise<void> {
  const Parts = [...parts].sort((a, b) => a[0] - b[0]).map(([PartNumber, ETag]) => ({ PartNumber, ETag }));
  await call('completing the upload of', t, () =>
    client.send(new CompleteMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId, MultipartUpload: { Parts } })),
  );
}

/**
 * Aborts an upload, so its parts stop being stored (and billed). An upload already gone is fine,
 * and so is a store that cannot abort (s3rver answers 405): there a lifecycle rule has to clean up.
 */
export async function abortUpload(client: S3Client, t: Target, uploadId: string): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: t.bucket, Key: t.key, UploadId: uploadId }));
  } catch (err) {
    const { status } = errorStatus(err);
    if (isNoSuchUpload(err) || status === 405 || status === 501) return;
    throw destError(err, `aborting the upload of ${url(t)}`);
  }
}

/** The object's size and user metadata, or undefined when there is no such object. */
export async function headObject(client: S3Client, t: Target): Promise<{ size: number; meta: Record<string, string> } | undefined> {
  try {
    const out = await client.send(new HeadObjectCommand({ Bucket: t.bucket, Key: t.key }));
    return { size: out.ContentLength ?? 0, meta: out.Metadata ?? {} };
  } catch (err) {
    const { status, name } = errorStatus(err);
    if (status === 404 && name !== 'NoSuchBucket') return undefined;
    throw destError(err, `looking at ${url(t)}`);
  }
}

/** Deletes one object; deleting one that is not there is no error (as in S3). */
export async function deleteObject(client: S3Client, t: Target): Promise<void> {
  await call('deleting', t, () => client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: t.key })));
}

/** Whether any object's key starts with `prefix` (one listing request). */
export async function anyUnder(client: S3Client, bucket: string, prefix: string): Promise<boolean> {
  const out = await call('listing', { bucket, key: prefix }, () => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: 1 })));
  return (out.KeyCount ?? out.Contents?.length ?? 0) > 0;
}

/**
 * Writes and removes an empty object at `t`: the one way to learn before any work that the
 * destination takes writes (a HEAD of the bucket does not show a missing PutObject permission).
 */
export async function probeWrite(client: S3Client, t: Target, what: string): Promise<void> {
  try {
    await client.send(new PutObjectCommand({ Bucket: t.bucket, Key: t.key, Body: Buffer.alloc(0), ContentLength: 0 }));
    await client.send(new DeleteObjectCommand({ Bucket: t.bucket, Key: t.key }));
  } catch (err) {
    throw destError(err, what);
  }
}
