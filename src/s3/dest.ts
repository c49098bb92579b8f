/**
 * Where delivered files go: the --dest URI parsed, and the key of each file under it. Kept apart
 * from the client so that planning a run can check --dest without loading the AWS SDK.
 */
import { UsageError } from '../errors.js';

/** A destination: its bucket and key prefix (empty, or ending with "/"). */
export interface DestLocation {
  bucket: string;
  prefix: string;
  /** `s3://bucket/prefix`: the identity deliveries are recorded under. */
  uri: string;
}

/** Parses `s3://BUCKET/PREFIX`; the prefix is a folder, so it gets a trailing "/". */
export function parseDest(raw: string): DestLocation {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(raw);
  if (!m || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1])) throw new UsageError(`--dest: ${JSON.stringify(raw)} is not s3://BUCKET/PREFIX`);
  const prefix = m[2] === '' || m[2].endsWith('/') ? m[2] : `${m[2]}/`;
  return { bucket: m[1], prefix, uri: `s3://${m[1]}/${prefix}` };
}

/** The key of an object's file of `kind` (output, quarantine, errors) under the destination: the same path as under the local dir. */
export function destKey(dest: DestLocation, kind: string, relPath: string): string {
  return `${dest.prefix}${kind}/${relPath}`;
}

/** Every folder cleaner writes under a destination. */
export const DEST_FOLDERS = ['output', 'quarantine', 'errors', '_manifests', '_runs'] as const;

/**
 * Refuses a destination inside an S3 source: the next run would list the delivered files as
 * source and clean its own output again and again.
 */
export function refuseDestInSource(dest: DestLocation, source: { bucket: string; prefix: string }, excluded: (relKey: string) => boolean = () => false): void {
  if (dest.bucket !== source.bucket) return;
  // A source prefix lists every key that starts with it, folder or not.
  const overlapping = DEST_FOLDERS.filter((f) => {
    const k = `${dest.prefix}${f}/`;
    return k.startsWith(source.prefix) || source.prefix.startsWith(k);
  });
  // Allowed when the run's filters leave every delivered folder out (a probe key in each must be excluded).
  const base = source.prefix.slice(0, source.prefix.lastIndexOf('/') + 1);
  const listed = overlapping.filter((f) => {
    const k = `${dest.prefix}${f}/part-0.jsonl`;
    return !(k.startsWith(base) && excluded(k.slice(base.length)));
  });
  if (listed.length) {
    const under = dest.prefix.startsWith(base) ? dest.prefix.slice(base.length) : '';
    const how = under ? `choose another prefix or bucket, or exclude it with --exclude '${under}*'` : 'choose another prefix or bucket';
    throw new UsageError(`--dest ${dest.uri} overlaps the source s3://${source.bucket}/${source.prefix}: later runs would clean delivered files again; ${how}`);
  }
}
