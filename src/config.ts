/**
 * Resolves a run's settings once: flag > environment (CLEANER_*) > config file > default.
 * Every problem is collected and reported together, each as `path: message`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';
import { DEFAULTS, SETTINGS, type Kind, type Settings } from './settings.js';
import type { Filter } from './keys/select.js';

/** Original script spellings, rewritten to the current flags before parsing. */
const ALIASES: Record<string, string> = { '--remote_dir': '--prefix', '--remote-dir': '--prefix', '--local_dir': '--local-dir' };

/** Rewrites alias flags (also in `--flag=value` form) to their canonical names. */
export function rewriteAliases(argv: string[]): string[] {
  return argv.map((a) => {
    const [name, ...rest] = a.split('=');
    const to = ALIASES[name];
    return to ? [to, ...rest].join('=') : a;
  });
}

/** Where the config file is: --config, else CLEANER_CONFIG, else ./cleaner.config.json when present. */
function configPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const p = flag ?? env.CLEANER_CONFIG;
  if (p) return p;
  return existsSync('cleaner.config.json') ? 'cleaner.config.json' : undefined;
}

function parseValue(kind: Kind, raw: unknown, where: string, problems: string[], choices?: readonly string[]): unknown {
  if (kind === 'filters') return parseFilters(raw, where, problems);
  if (kind === 'rate') {
    // "0.05" or "5%".
    const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
    const m = /^(\d+(?:\.\d+)?|\.\d+)(%?)$/.exec(text);
    const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
    if (!(n >= 0 && n <= 1)) {
      problems.push(`${where}: must be a fraction from 0 to 1 (or a percentage like 5%), got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return n;
  }
  if (kind === 'count' || kind === 'int') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    const least = kind === 'count' ? 0 : 1;
    if (!Number.isSafeInteger(n) || n < least) {
      problems.push(`${where}: must be a ${kind === 'count' ? 'whole number (0 or more)' : 'positive whole number'}, got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return n;
  }
  if (kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    if (typeof raw === 'string' && /^(1|true|yes|on)$/i.test(raw.trim())) return true;
    if (typeof raw === 'string' && /^(0|false|no|off)$/i.test(raw.trim())) return false;
    problems.push(`${where}: must be true or false, got ${JSON.stringify(raw)}`);
    return undefined;
  }
  if (kind === 'list') {
    const list =
      Array.isArray(raw) && raw.every((x) => typeof x === 'string') ? raw
      : typeof raw === 'string' ? raw.split(',')
      : undefined;
    if (!list) {
      problems.push(`${where}: must be a comma-separated string or a list of strings`);
      return undefined;
    }
    const items = list.map((x) => x.trim()).filter(Boolean);
    const wrong = choices ? items.filter((x) => !choices.includes(x)) : [];
    if (wrong.length) {
      problems.push(`${where}: ${wrong.map((x) => JSON.stringify(x)).join(', ')} not one of ${choices!.join(', ')}`);
      return undefined;
    }
    return items;
  }
  if (typeof raw !== 'string' || raw === '') {
    problems.push(`${where}: must be a non-empty string`);
    return undefined;
  }
  return raw;
}

/**
 * The --include/--exclude filters, in order. From flags: the list commander collected. From the
 * config file: `[{"exclude": "*"}, {"include": "*.json"}]`. From CLEANER_FILTERS: the flags' own
 * words, `--exclude * --include *.json` (patterns without spaces).
 */
function parseFilters(raw: unknown, where: string, problems: string[]): Filter[] | undefined {
  let list = raw;
  if (typeof raw === 'string') {
    const words = raw.trim().split(/\s+/).filter(Boolean);
    list = [];
    for (let i = 0; i < words.length; i += 2) {
      const [flag, pattern] = [words[i], words[i + 1]];
      if ((flag !== '--include' && flag !== '--exclude') || pattern === undefined) {
        problems.push(`${where}: expected pairs like "--exclude PATTERN --include PATTERN", got ${JSON.stringify(raw)}`);
        return undefined;
      }
      (list as Filter[]).push(flag === '--include' ? { include: pattern } : { exclude: pattern });
    }
  }
  const ok = (f: unknown) => {
    if (f === null || typeof f !== 'object' || Array.isArray(f)) return false;
    const entries = Object.entries(f);
    return entries.length === 1 && (entries[0][0] === 'include' || entries[0][0] === 'exclude') && typeof entries[0][1] === 'string' && entries[0][1] !== '';
  };
  if (!Array.isArray(list) || !list.every(ok)) {
    problems.push(`${where}: must be a list like [{"exclude": "*"}, {"include": "*.json"}]`);
    return undefined;
  }
  return list as Filter[];
}

/** Where resolveSettings looks besides the flags. */
export interface ResolveFrom {
  /** The --config flag, if given. */
  config?: string;
  /** Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Resolve only these settings (the rest keep their defaults): a command that needs only the
   * state path does not fail on, say, a bad CLEANER_THREADS. Unknown config keys are still reported.
   */
  only?: ReadonlyArray<keyof Settings>;
}

/** The config file's settings, checked; its `path` settings made absolute relative to the file. */
function readConfigFile(file: string, wanted: (key: string) => boolean, problems: string[]): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`config ${file}: ${e.code === 'ENOENT' ? 'file not found' : e.code ? `cannot be read (${e.code})` : `not valid JSON (${e.message})`}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`config ${file}: must be a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    const s = SETTINGS.find((x) => x.key === k);
    if (!s) {
      problems.push(`${file}: ${k}: unknown setting (known: ${SETTINGS.map((x) => x.key).join(', ')})`);
      continue;
    }
    if (!wanted(k)) continue;
    const val = parseValue(s.kind, v, `${file}: ${k}`, problems, s.choices);
    if (val !== undefined) out[k] = s.kind === 'path' ? resolve(file, '..', val as string) : val;
  }
  return out;
}

/**
 * Merges flags (only those given on the command line), CLEANER_* variables, the config file and
 * the defaults. Throws one UsageError listing every problem.
 */
export function resolveSettings(flags: Record<string, unknown>, from: ResolveFrom = {}): Settings {
  const env = from.env ?? process.env;
  const wanted = (key: string) => !from.only || from.only.includes(key as keyof Settings);
  const problems: string[] = [];
  const file = configPath(from.config, env);
  const fromFile = file ? readConfigFile(file, wanted, problems) : {};
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const s of SETTINGS.filter((x) => wanted(x.key))) {
    const f = flags[s.key];
    const e = env[s.env];
    if (f !== undefined) {
      const val = parseValue(s.kind, f, s.flag, problems, s.choices);
      if (val !== undefined) out[s.key] = val;
    } else if (e !== undefined && e !== '') {
      const val = parseValue(s.kind, e, s.env, problems, s.choices);
      if (val !== undefined) out[s.key] = val;
    } else if (fromFile[s.key] !== undefined) out[s.key] = fromFile[s.key];
  }
  if (problems.length) throw new UsageError(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
  return out as Settings;
}

/** Where the source is, from --source or --bucket/--prefix. */
export type SourceSpec = { kind: 's3'; bucket: string; prefix: string } | { kind: 'local'; path: string };

/** Interprets the source settings; every problem reported together. */
export function resolveSource(s: Settings): SourceSpec {
  const problems: string[] = [];
  if (s.source && s.bucket) problems.push('--source and --bucket: give one or the other');
  if (s.source) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(s.source);
    if (m) {
      if (problems.length === 0) return { kind: 's3', bucket: m[1], prefix: s.prefix ?? m[2] };
    } else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s.source)) problems.push(`--source: ${s.source}: only s3:// URLs and local paths are supported`);
    else if (!existsSync(s.source)) problems.push(`--source: ${s.source}: no such file or directory`);
    else if (problems.length === 0) return { kind: 'local', path: resolve(s.source) };
  } else if (s.bucket) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket)) problems.push(`--bucket: ${JSON.stringify(s.bucket)} is not a valid bucket name`);
    else return { kind: 's3', bucket: s.bucket, prefix: s.prefix ?? '' };
  } else problems.push('no source: pass --source s3://BUCKET/PREFIX (or a local directory), or --bucket with --prefix; or set CLEANER_SOURCE');
  throw new UsageError(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
}
