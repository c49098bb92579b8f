/** What `run` and `run --dry-run` both need first: the source, the rules and where things go. */
import { resolve } from 'node:path';
import { resolveSource, type SourceSpec } from '../config.js';
import type { Settings } from '../settings.js';
import { resolveEndpoint } from '../s3/settings.js';
import { loadRules, type Rules } from '../validate/schema.js';
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
}

/** Resolves and checks everything a run needs; refuses bad input before anything is written. */
export function planRun(settings: Settings, log: Logger): RunPlan {
  const src = resolveSource(settings);
  const rules = loadRules(settings.schema);
  for (const w of rules.warnings) log.warn(`schema ${rules.origin}: ${w}`);
  const localDir = resolve(settings.localDir);
  const endpoint = src.kind === 's3' ? (resolveEndpoint(settings.endpointUrl) ?? null) : null;
  const source = src.kind === 's3' ? `s3://${src.bucket}/${src.prefix}` : src.path;
  return { src, rules, localDir, statePath: resolve(settings.state), endpoint, source, target: JSON.stringify([src.kind, endpoint ?? '', source, localDir]) };
}
