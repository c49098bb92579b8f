/**
 * Resolves a run's settings once: flag > environment (CLEANER_*) > config file > default.
 * Every problem is collected and reported together, each as `path: message`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './errors.js';
import { DEFAULT_OPTIONS } from './stages/pipeline.js';

/** Every setting a flag, a CLEANER_* variable or the config file can hold. */
export interface Settings {
  source?: string;
  bucket?: string;
  prefix?: string;
  localDir: string;
  schema?: string;
  endpointUrl?: string;
  region?: string;
  state: string;
  concurrency: number;
  threads: number;
  maxLineBytes: number;
  checkpointBytes: number;
  redact: string[];
  maxErrorRate: number | null;
  maxRejects: number | null;
  deleteInput: boolean;
}

/** Names as they appear in the config file (camelCase) with their flag and environment spellings. */
export const SETTINGS: Array<{ key: keyof Settings; flag: string; env: string; kind: Kind }> = [
  { key: 'source', flag: '--source', env: 'CLEANER_SOURCE', kind: 'string' },
  { key: 'bucket', flag: '--bucket', env: 'CLEANER_BUCKET', kind: 'string' },
  { key: 'prefix', flag: '--prefix', env: 'CLEANER_PREFIX', kind: 'string' },
  { key: 'localDir', flag: '--local-dir', env: 'CLEANER_LOCAL_DIR', kind: 'string' },
  { key: 'schema', flag: '--schema', env: 'CLEANER_SCHEMA', kind: 'string' },
  { key: 'endpointUrl', flag: '--endpoint-url', env: 'CLEANER_ENDPOINT_URL', kind: 'string' },
  { key: 'region', flag: '--region', env: 'CLEANER_REGION', kind: 'string' },
  { key: 'state', flag: '--state', env: 'CLEANER_STATE', kind: 'string' },
  { key: 'concurrency', flag: '--concurrency', env: 'CLEANER_CONCURRENCY', kind: 'int' },
  { key: 'threads', flag: '--threads', env: 'CLEANER_THREADS', kind: 'int' },
  { key: 'maxLineBytes', flag: '--max-line-bytes', env: 'CLEANER_MAX_LINE_BYTES', kind: 'int' },
  { key: 'checkpointBytes', flag: '--checkpoint-bytes', env: 'CLEANER_CHECKPOINT_BYTES', kind: 'int' },
  { key: 'redact', flag: '--redact', env: 'CLEANER_REDACT', kind: 'list' },
  { key: 'maxErrorRate', flag: '--max-error-rate', env: 'CLEANER_MAX_ERROR_RATE', kind: 'rate' },
  { key: 'maxRejects', flag: '--max-rejects', env: 'CLEANER_MAX_REJECTS', kind: 'count' },
  { key: 'deleteInput', flag: '--delete-input', env: 'CLEANER_DELETE_INPUT', kind: 'bool' },
];

type Kind = 'string' | 'int' | 'list' | 'rate' | 'count' | 'bool';

export const DEFAULTS: Settings = {
  localDir: '.',
  state: 'state/cleaner.db',
  concurrency: DEFAULT_OPTIONS.concurrency,
  threads: DEFAULT_OPTIONS.threads,
  maxLineBytes: DEFAULT_OPTIONS.maxLineBytes,
  checkpointBytes: DEFAULT_OPTIONS.checkpointBytes,
  redact: [],
  maxErrorRate: null,
  maxRejects: null,
  deleteInput: false,
};

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
function configPath(flag: string | undefined): string | undefined {
  const p = flag ?? process.env.CLEANER_CONFIG;
  if (p) return p;
  return existsSync('cleaner.config.json') ? 'cleaner.config.json' : undefined;
}

function parseValue(kind: Kind, raw: unknown, where: string, problems: string[]): unknown {
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
  if (kind === 'count') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < 0) {
      problems.push(`${where}: must be a whole number (0 or more), got ${JSON.stringify(raw)}`);
      return undefined;
    }
    return n;
  }
  if (kind === 'int') {
    const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n) || n < 1) {
      problems.push(`${where}: must be a positive whole number, got ${JSON.stringify(raw)}`);
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
    if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw.map((x) => x.trim()).filter(Boolean);
    if (typeof raw === 'string') return raw.split(',').map((x) => x.trim()).filter(Boolean);
    problems.push(`${where}: must be a comma-separated string or a list of strings`);
    return undefined;
  }
  if (typeof raw !== 'string' || raw === '') {
    problems.push(`${where}: must be a non-empty string`);
    return undefined;
  }
  return raw;
}

/**
 * Merges flags (only those given on the command line), CLEANER_* variables, the config file and
 * the defaults. Throws one UsageError listing every problem.
 */
export function resolveSettings(flags: Record<string, unknown>, configFlag?: string): Settings {
  const problems: string[] = [];
  const fromFile: Record<string, unknown> = {};
  const file = configPath(configFlag);
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UsageError(`config ${file}: ${e.code === 'ENOENT' ? 'file not found' : e.code ? `cannot be read (${e.code})` : `not valid JSON (${e.message})`}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`config ${file}: must be a JSON object`);
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const s = SETTINGS.find((x) => x.key === k);
      if (!s) {
        problems.push(`${file}: ${k}: unknown setting (known: ${SETTINGS.map((x) => x.key).join(', ')})`);
        continue;
      }
      const val = parseValue(s.kind, v, `${file}: ${k}`, problems);
      if (val !== undefined) fromFile[k] = k === 'schema' || k === 'localDir' || k === 'state' ? resolve(file, '..', val as string) : val;
    }
  }
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const s of SETTINGS) {
    const f = flags[s.key];
    const e = process.env[s.env];
    if (f !== undefined) {
      const val = parseValue(s.kind, f, s.flag, problems);
      if (val !== undefined) out[s.key] = val;
    } else if (e !== undefined && e !== '') {
      const val = parseValue(s.kind, e, s.env, problems);
      if (val !== undefined) out[s.key] = val;
    } else if (fromFile[s.key] !== undefined) out[s.key] = fromFile[s.key];
  }
  if (problems.length) throw new UsageError(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
  return out as unknown as Settings;
}

/** Where the source is, from --source or --bucket/--prefix. */
export type SourceSpec = { kind: 's3'; bucket: string; prefix: string } | { kind: 'local'; path: string };

/** Interprets the source settings; every problem reported together. */
export function resolveSource(s: Settings): SourceSpec {
  const problems: string[] = [];
  if (s.source && s.bucket) problems.push('--source and --bucket: give one or the other');
  if (s.source) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(s.source);
    if (m) return { kind: 's3', bucket: m[1], prefix: s.prefix ?? m[2] };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s.source)) problems.push(`--source: ${s.source}: only s3:// URLs and local paths are supported`);
    else if (!existsSync(s.source)) problems.push(`--source: ${s.source}: no such file or directory`);
    else if (problems.length === 0) return { kind: 'local', path: resolve(s.source) };
  } else if (s.bucket) {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.bucket)) problems.push(`--bucket: ${JSON.stringify(s.bucket)} is not a valid bucket name`);
    else return { kind: 's3', bucket: s.bucket, prefix: s.prefix ?? '' };
  } else problems.push('no source: pass --source s3://BUCKET/PREFIX (or a local directory), or --bucket with --prefix; or set CLEANER_SOURCE');
  throw new UsageError(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join('\n  ')}`);
}
