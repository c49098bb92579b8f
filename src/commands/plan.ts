/** What `run` and `run --dry-run` both need first: the source, the rules and where things go. */
import { statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { UsageError } from '../errors.js';
import { compileSelection, type Selection } from '../keys/select.js';
import { resolveSource, type SourceSpec } from '../config.js';
import { DEFAULTS, type Settings } from '../settings.js';
import { resolveShard, shardStatePath, type Shard } from '../keys/shard.js';
import { resolveEndpoint } from '../s3/settings.js';
import { parseDest, refuseDestInSource } from '../s3/dest.js';
import { loadRules, rulesChecker, type Rules } from '../validate/schema.js';
import { peekState } from '../state/db.js';
import { checkedRulesWarnings } from '../state/queries.js';
import type { Logger } from '../log.js';

export interface RunPlan {
  src: SourceSpec;
  rules: Rules;
  localDir: string;
  statePath: string;
  endpoint: string | null;
  /** s3://bucket/prefix, or the absolute local path. */
  source: string;
  /** The identity of (source, endpoint, local dir): objects of one target are shared across runs. */
  target: string;
  /** This process's shard, when the prefix is split between several. */
  shard: Shard | undefined;
  /** The selection of keys: filters, markers, shard. */
  select: Selection;
}

/** Resolves and checks everything a run needs; refuses bad input before anything is written. */
export function planRun(settings: Settings, log: Logger): RunPlan {
  const src = resolveSource(settings);
  const shard = resolveShard(settings.shard);
  // Shards on one machine (or one volume) each get their own state unless one was chosen.
  const state = shard && shard.count > 1 && settings.state === DEFAULTS.state ? shardStatePath(settings.state, shard) : settings.state;
  const rules = loadRules(settings.schema, { checkOnly: true, checkedBefore: (hash) => checkedIn(resolve(state), hash) });
  for (const w of rules.warnings) log.warn(`schema ${rules.origin}: ${w}`);
  if (rules.checkedEarlier) log.debug(`schema ${rules.origin}: checked by an earlier run of this state (same text, same cleaner); not compiled again`);
  const localDir = resolve(settings.localDir);
  if (src.kind === 'local') refuseLocalDirInSource(src.path, localDir, compileSelection(settings.filters));
  const endpoint = src.kind === 's3' ? (resolveEndpoint(settings.endpointUrl) ?? null) : null;
  if (settings.dest) {
    const dest = parseDest(settings.dest);
    const sameStore = !settings.destEndpointUrl || resolveEndpoint(settings.destEndpointUrl) === endpoint;
    const filters = compileSelection(settings.filters);
    if (src.kind === 's3' && sameStore) refuseDestInSource(dest, src, (rel) => filters(rel, 1) !== undefined);
  }
  const source = src.kind === 's3' ? `s3://${src.bucket}/${src.prefix}` : src.path;
  return {
    src,
    rules,
    localDir,
    statePath: resolve(state),
    endpoint,
    source,
    target: JSON.stringify([src.kind, endpoint ?? '', source, localDir]),
    shard,
    select: compileSelection(settings.filters, shard),
  };
}

/**
 * The warnings of an earlier check of these rules (by hash) recorded in the state at `statePath`
 * by this program, or undefined: none, no state yet, or one that cannot be read now (the run
 * itself then says what is wrong with it, after checking the rules as usual).
 */
function checkedIn(statePath: string, hash: string): string[] | undefined {
  const db = peekState(statePath);
  if (db === undefined) return undefined;
  try {
    return checkedRulesWarnings(db, hash, rulesChecker());
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

/**
 * A local dir inside the source folder would be listed as source by the next run, which would
 * clean its own output again and again; refused unless the filters exclude it.
 */
function refuseLocalDirInSource(source: string, localDir: string, select: Selection): void {
  if (!statSync(source).isDirectory()) return;
  const rel = relative(source, localDir);
  if (rel.startsWith('..') || resolve(source, rel) !== localDir || rel.startsWith(sep)) return;
  const under = rel.split(sep).join('/');
  const excluded = under !== '' && ['output', 'errors', 'input', 'quarantine', 'reports'].every((d) => select(`${under}/${d}/part-0.jsonl`, 1) !== undefined);
  if (excluded) return;
  const how = under === '' ? 'choose a local dir outside it' : `choose a local dir outside it, or exclude it with --exclude '${under}/*'`;
  throw new UsageError(`--local-dir ${localDir} is inside the source ${source}: later runs would clean their own output; ${how}`);
}
