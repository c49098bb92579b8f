/**
 * Every setting, declared once: its config-file key, flag, environment variable, kind, default,
 * help text, and whether a run stores it. The Settings type, the defaults, the flags of
 * `cleaner run`, the options a run stores and the options a clean task carries are derived from
 * this table, so adding a setting is one row.
 */
import { availableParallelism } from 'node:os';
import type { Filter } from './keys/select.js';
import { withoutPassword } from './load/url.js';

/** How a value is read; `path` is a string that, in a config file, is relative to the file. */
export type Kind = 'string' | 'path' | 'int' | 'list' | 'rate' | 'count' | 'bool' | 'filters';

/** The value each kind parses to; `rate` and `count` are limits, null when there is none. */
interface KindValue {
  string: string;
  path: string;
  int: number;
  list: string[];
  rate: number | null;
  count: number | null;
  bool: boolean;
  filters: Filter[];
}

/** One setting. Without `default` it is optional (undefined when nothing sets it). */
export interface Declaration {
  /** The name in the config file (camelCase); commander derives the same name from `flag`. */
  key: string;
  flag: string;
  /** The flag's value placeholder, e.g. `<n>`; none for a boolean flag. */
  arg?: string;
  env: string;
  kind: Kind;
  default?: unknown;
  help: string;
  /** Kept in the run's `options` column, so `resume` uses the same value. */
  stored?: true;
  /** What is stored instead of the value (e.g. a URL without its password). */
  storedAs?: (value: string) => string;
  /** Also sent with every clean task (the worker reads it); implies stored. */
  task?: true;
  /** A flag that may be given more than once, each time adding to the list. */
  repeatable?: true;
  /** The only values a list may hold. */
  choices?: readonly string[];
}

const TABLE = [
  { key: 'source', flag: '--source', arg: '<uri>', env: 'CLEANER_SOURCE', kind: 'string', help: 's3://BUCKET/PREFIX, or a local file or directory (no download stage)' },
  { key: 'bucket', flag: '--bucket', arg: '<name>', env: 'CLEANER_BUCKET', kind: 'string', help: 'S3 bucket (with --prefix)' },
  { key: 'prefix', flag: '--prefix', arg: '<prefix>', env: 'CLEANER_PREFIX', kind: 'string', help: 'key prefix; aliases --remote_dir, --remote-dir' },
  { key: 'localDir', flag: '--local-dir', arg: '<dir>', env: 'CLEANER_LOCAL_DIR', kind: 'path', default: '.', help: 'where input/, output/, errors/ go; alias --local_dir' },
  { key: 'schema', flag: '--schema', arg: '<file>', env: 'CLEANER_SCHEMA', kind: 'path', help: 'JSON Schema rules file (default: the built-in web-event rules)' },
  {
    key: 'endpointUrl',
    flag: '--endpoint-url',
    arg: '<url>',
    env: 'CLEANER_ENDPOINT_URL',
    kind: 'string',
    help: 'S3-compatible endpoint (MinIO, R2, a local server); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL',
  },
  { key: 'region', flag: '--region', arg: '<region>', env: 'CLEANER_REGION', kind: 'string', help: 'S3 region; else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1' },
  { key: 'state', flag: '--state', arg: '<path>', env: 'CLEANER_STATE', kind: 'path', default: 'state/cleaner.db', help: 'state database' },
  { key: 'concurrency', flag: '--concurrency', arg: '<n>', env: 'CLEANER_CONCURRENCY', kind: 'int', default: 8, help: 'parallel downloads', stored: true },
  { key: 'threads', flag: '--threads', arg: '<n>', env: 'CLEANER_THREADS', kind: 'int', default: Math.max(1, availableParallelism()), help: 'clean worker threads', stored: true },
  {
    key: 'maxLineBytes',
    flag: '--max-line-bytes',
    arg: '<n>',
    env: 'CLEANER_MAX_LINE_BYTES',
    kind: 'int',
    default: 1 << 20,
    help: 'longer lines are rejected as line_too_long',
    stored: true,
    task: true,
  },
  {
    key: 'maxErrorsPerLine',
    flag: '--max-errors-per-line',
    arg: '<n>',
    env: 'CLEANER_MAX_ERRORS_PER_LINE',
    kind: 'int',
    default: 10,
    help: 'most schema errors a reject record lists (errors_total counts them all)',
    stored: true,
    task: true,
  },
  { key: 'checkpointBytes', flag: '--checkpoint-bytes', arg: '<n>', env: 'CLEANER_CHECKPOINT_BYTES', kind: 'int', default: 8 << 20, help: 'input bytes between checkpoints', stored: true, task: true },
  { key: 'redact', flag: '--redact', arg: '<fields>', env: 'CLEANER_REDACT', kind: 'list', default: [], help: 'comma-separated fields masked in reject records', stored: true, task: true },
  {
    key: 'maxErrorRate',
    flag: '--max-error-rate',
    arg: '<rate>',
    env: 'CLEANER_MAX_ERROR_RATE',
    kind: 'rate',
    default: null,
    // Per object it is applied when the object is published (a breaching object goes to quarantine/), hence task.
    help: 'quality gate: share of non-blank lines rejected (0.05 or 5%), per object and per run',
    stored: true,
    task: true,
  },
  { key: 'maxRejects', flag: '--max-rejects', arg: '<n>', env: 'CLEANER_MAX_REJECTS', kind: 'count', default: null, help: 'quality gate: most rejected lines in the run', stored: true },
  {
    key: 'deleteInput',
    flag: '--delete-input',
    env: 'CLEANER_DELETE_INPUT',
    kind: 'bool',
    default: false,
    help: 'delete input/<path> once an object is cleaned, keeping one copy on disk',
    stored: true,
  },
  {
    key: 'filters',
    // Two flags fill one ordered list (the AWS CLI's --include/--exclude: the last match wins).
    flag: '--include/--exclude',
    arg: '<pattern>',
    env: 'CLEANER_FILTERS',
    kind: 'filters',
    default: [],
    help: 'which keys (relative to the prefix) to clean; repeatable, in order, the last match wins; * and ? match across /',
    stored: true,
  },
  {
    key: 'shard',
    flag: '--shard',
    arg: '<i/n>',
    env: 'CLEANER_SHARD',
    kind: 'string',
    help: 'clean only the keys of shard I of N (0-based); else from JOB_COMPLETION_INDEX + CLEANER_SHARDS or AWS_BATCH_JOB_ARRAY_INDEX + AWS_BATCH_JOB_ARRAY_SIZE',
    stored: true,
  },
  {
    key: 'dest',
    flag: '--dest',
    arg: '<uri>',
    env: 'CLEANER_DEST',
    kind: 'string',
    help: 'deliver output/, errors/ and quarantine/ to s3://BUCKET/PREFIX/, exactly once, with loader manifests under _manifests/',
    stored: true,
  },
  {
    key: 'destEndpointUrl',
    flag: '--dest-endpoint-url',
    arg: '<url>',
    env: 'CLEANER_DEST_ENDPOINT_URL',
    kind: 'string',
    help: "the destination's S3-compatible endpoint (default: the source's)",
    stored: true,
  },
  { key: 'destRegion', flag: '--dest-region', arg: '<region>', env: 'CLEANER_DEST_REGION', kind: 'string', help: "the destination's region (default: the source's)", stored: true },
  {
    key: 'deleteLocal',
    flag: '--delete-local',
    env: 'CLEANER_DELETE_LOCAL',
    kind: 'bool',
    default: false,
    help: "with --dest: delete an object's local input and outputs once its destination copy is complete",
    stored: true,
  },
  {
    key: 'startAfter',
    flag: '--start-after',
    arg: '<key>',
    env: 'CLEANER_START_AFTER',
    kind: 'string',
    help: 'list only keys after this one (the full S3 key, or the path under a local source): a date-partitioned prefix then lists only recent days',
    stored: true,
  },
  {
    key: 'pruneOlderThan',
    flag: '--prune-older-than',
    arg: '<age>',
    env: 'CLEANER_PRUNE_OLDER_THAN',
    kind: 'string',
    help: "after the run, prune runs that finished longer ago than this age (e.g. 90d): as cleaner prune --older-than",
  },
  { key: 'metricsFile', flag: '--metrics-file', arg: '<path>', env: 'CLEANER_METRICS_FILE', kind: 'path', help: "write the run's Prometheus metrics to this file (node_exporter textfile collector)" },
  { key: 'pushgateway', flag: '--pushgateway', arg: '<url>', env: 'CLEANER_PUSHGATEWAY', kind: 'string', help: "push the run's metrics to this Prometheus Pushgateway" },
  {
    key: 'notify',
    flag: '--notify',
    arg: '<url>',
    env: 'CLEANER_NOTIFY',
    kind: 'list',
    default: [],
    repeatable: true,
    help: 'POST a JSON summary (Slack-compatible) to this webhook when the run ends as --notify-on says; repeatable',
  },
  {
    key: 'notifyOn',
    flag: '--notify-on',
    arg: '<events>',
    env: 'CLEANER_NOTIFY_ON',
    kind: 'list',
    default: ['breach', 'failed'],
    choices: ['breach', 'failed', 'always'],
    help: 'when to notify: breach (quality gate), failed (run or objects), always',
  },
  {
    key: 'load',
    flag: '--load',
    arg: '<url>',
    env: 'CLEANER_LOAD',
    kind: 'string',
    help: 'after publishing, load the output exactly once into postgres://USER@HOST/DB or duckdb:PATH (stored without its password)',
    stored: true,
    // resume takes the password from PGPASSWORD, ~/.pgpass, or --load given again.
    storedAs: withoutPassword,
  },
  { key: 'table', flag: '--table', arg: '<name>', env: 'CLEANER_TABLE', kind: 'string', default: 'events', help: 'the table --load writes (created when absent; SCHEMA.NAME allowed)', stored: true },
  {
    key: 'loadRejects',
    flag: '--load-rejects',
    env: 'CLEANER_LOAD_REJECTS',
    kind: 'bool',
    default: false,
    help: 'also load the reject records into <table>_rejects',
    stored: true,
  },
] as const satisfies readonly Declaration[];

type Row = (typeof TABLE)[number];
type ValueOf<R extends Row> = KindValue[R['kind']];

/** The table, in flag order (the order `cleaner run --help` lists them). */
export const SETTINGS: readonly Declaration[] = TABLE;

/** Every setting a flag, a CLEANER_* variable or the config file can hold. */
export type Settings = { [R in Extract<Row, { default: unknown }> as R['key']]: ValueOf<R> } & {
  [R in Exclude<Row, { default: unknown }> as R['key']]?: ValueOf<R>;
};

type Stored = Extract<Row, { stored: true }>;

/** Options a run keeps in its `options` column, so resume uses the same; those without a default may be absent. */
export type RunOptions = { [R in Extract<Stored, { default: unknown }> as R['key']]: ValueOf<R> } & {
  [R in Exclude<Stored, { default: unknown }> as R['key']]?: ValueOf<R>;
};

/** The run options every clean task carries to its worker. */
export type TaskOptions = { [R in Extract<Row, { task: true }> as R['key']]: ValueOf<R> };

function pick<T>(from: object, which: (d: Declaration) => boolean): T {
  const src = from as Record<string, unknown>;
  return Object.fromEntries(SETTINGS.filter(which).map((d) => [d.key, src[d.key]])) as T;
}

export const DEFAULTS: Settings = pick(Object.fromEntries(SETTINGS.map((d) => [d.key, d.default])), (d) => 'default' in d);

/** The options a new run stores, from its settings. */
export function runOptionsOf(settings: Settings): RunOptions {
  const options = pick<Record<string, unknown>>(settings, (d) => d.stored === true);
  for (const d of SETTINGS) if (d.storedAs && typeof options[d.key] === 'string') options[d.key] = d.storedAs(options[d.key] as string);
  return options as RunOptions;
}

/**
 * The options stored with a run (its `options` column). The one place they are parsed: a run
 * stored by an older cleaner, before a setting existed, gets that setting's default.
 */
export function parseRunOptions(stored: string): RunOptions {
  return { ...runOptionsOf(DEFAULTS), ...(JSON.parse(stored) as Partial<RunOptions>) };
}

/** The options a clean task carries, from its run's options. */
export function taskOptionsOf(options: RunOptions): TaskOptions {
  return pick(options, (d) => d.task === true);
}
