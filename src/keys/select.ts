/**
 * Which listed objects a run cleans: `--include`/`--exclude` patterns in the AWS CLI's semantics,
 * and marker files skipped by default.
 *
 * As `aws s3 sync`/`cp` do: every object is included to begin with; the filters are applied in the
 * order given and the last one that matches decides; `*` matches any characters, `/` included,
 * `?` one character, `[abc]`/`[!abc]` one of (or none of) a set; matching is case-sensitive and
 * against the key relative to the prefix (the path relative to a local source folder).
 *
 * Markers (zero-byte objects, `_SUCCESS`, `*.crc`, a last segment starting with `_` or `.`) come
 * from Spark/Hadoop writers, delivery streams and cleaner's own bookkeeping; they are never event
 * data, so they are excluded before the user's filters, and an `--include` that matches one brings
 * it back.
 */

import { shardOf, type Shard } from './shard.js';

/** One filter as given: `{ exclude: 'logs/*' }` or `{ include: '*.json' }`, in order. */
export type Filter = { include: string } | { exclude: string };

/** Why an object is not cleaned: a user filter, the marker rule, or it belongs to another shard. */
export type Exclusion = 'excluded' | 'marker' | 'shard';

/**
 * A compiled selection: the exclusion of a key, or undefined when it is cleaned. Filters and
 * markers look at the key relative to the prefix; the shard at the full key.
 */
export type Selection = (relKey: string, size: number, key?: string) => Exclusion | undefined;

/** Whether an object is a marker file rather than event data. */
export function isMarker(relKey: string, size: number): boolean {
  if (size === 0) return true;
  const last = relKey.slice(relKey.lastIndexOf('/') + 1);
  return last.startsWith('_') || last.startsWith('.') || last.endsWith('.crc');
}

/** Compiles the filters (in order), and this process's shard, into a selection. */
export function compileSelection(filters: readonly Filter[], shard?: Shard): Selection {
  const compiled = filters.map((f) => ('include' in f ? { include: true, re: globToRegExp(f.include) } : { include: false, re: globToRegExp(f.exclude) }));
  return (relKey, size, key = relKey) => {
    // Another shard's key is never this process's business, whatever the filters say.
    if (shard && shard.count > 1 && shardOf(key, shard.count) !== shard.index) return 'shard';
    // A marker that a filter also excludes is still reported as a marker: that is the better reason.
    const marker = isMarker(relKey, size);
    let verdict: Exclusion | undefined = marker ? 'marker' : undefined;
    for (const f of compiled) if (f.re.test(relKey)) verdict = f.include ? undefined : marker ? 'marker' : 'excluded';
    return verdict;
  };
}

/**
 * A glob as a whole-string RegExp: `*` any run of characters (across `/`), `?` one character,
 * `[…]` a set (`!` or `^` negates), everything else literal. An unclosed `[` is a literal.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[\\s\\S]*';
    else if (c === '?') re += '[\\s\\S]';
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'u');
}
