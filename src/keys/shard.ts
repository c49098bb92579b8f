/**
 * Shards: N copies of cleaner (a Kubernetes Indexed Job, an AWS Batch array job) split one prefix
 * between them with no coordinator. Each key belongs to exactly one shard:
 *
 *   shard(key) = first 8 bytes of SHA-256(UTF-8 bytes of the full object key), as an unsigned
 *                big-endian integer, modulo N
 *
 * SHA-256 is the same on every machine, Node version and cleaner version, and spreads keys that
 * differ only in a date or a counter evenly (measured in README: keys and bytes per shard).
 * For a local source the key is the path relative to the source folder, with `/` separators.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors.js';

/** Shard `index` of `count` (0 ≤ index < count). */
export interface Shard {
  index: number;
  count: number;
}

/** The shard a key belongs to among `count`. */
export function shardOf(key: string, count: number): number {
  if (count === 1) return 0;
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return Number(digest.readBigUInt64BE(0) % BigInt(count));
}

/** Parses `I/N` (0-based index). */
export function parseShard(text: string, where: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || index >= count) {
    throw new UsageError(`${where}: expected I/N with 0 <= I < N (e.g. 0/4), got ${JSON.stringify(text)}`);
  }
  return { index, count };
}

/**
 * The shard of this process: `--shard`/`CLEANER_SHARD` when given, else the array index the job
 * engine sets (Kubernetes gives the index but not the count, so CLEANER_SHARDS is needed with
 * it), else undefined (one process does everything).
 */
export function resolveShard(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard | undefined {
  if (flag !== undefined) return parseShard(flag, '--shard');
  if (env.CLEANER_SHARD) return parseShard(env.CLEANER_SHARD, 'CLEANER_SHARD');
  const k8s = env.JOB_COMPLETION_INDEX;
  if (k8s !== undefined && k8s !== '') {
    if (!env.CLEANER_SHARDS) throw new UsageError('JOB_COMPLETION_INDEX is set but CLEANER_SHARDS is not: set CLEANER_SHARDS to the Job\'s completions (Kubernetes does not pass the count)');
    return parseShard(`${k8s}/${env.CLEANER_SHARDS}`, 'JOB_COMPLETION_INDEX/CLEANER_SHARDS');
  }
  const batch = env.AWS_BATCH_JOB_ARRAY_INDEX;
  if (batch !== undefined && batch !== '') {
    if (!env.AWS_BATCH_JOB_ARRAY_SIZE) throw new UsageError('AWS_BATCH_JOB_ARRAY_INDEX is set but AWS_BATCH_JOB_ARRAY_SIZE is not');
    return parseShard(`${batch}/${env.AWS_BATCH_JOB_ARRAY_SIZE}`, 'AWS_BATCH_JOB_ARRAY_INDEX/AWS_BATCH_JOB_ARRAY_SIZE');
  }
  return undefined;
}

/** The state file of a shard when none was chosen: one file per shard, so shards never wait on each other's lock. */
export function shardStatePath(defaultPath: string, shard: Shard): string {
  return defaultPath.replace(/(\.db)?$/, `-shard-${shard.index}-of-${shard.count}$1`);
}
