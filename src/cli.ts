/**
 * Flags and commands only. The one place that prints an error and exits: typed errors become one
 * line on stderr and their exit code; anything unexpected is an internal error (stack with DEBUG=1).
 */
import { Command, Option } from 'commander';
import { CleanerError, ExitCode, UsageError } from './errors.js';
import { resolveSettings, rewriteAliases } from './config.js';
import { DEFAULTS, SETTINGS, type Declaration, type Settings } from './settings.js';
import type { Filter } from './keys/select.js';
import { makeLogger, type LogFormat, type Logger } from './log.js';
import type { RunOutcome } from './commands/drive.js';
import { interruptActiveRun } from './commands/interrupt.js';
// The commands are imported when they run: fleet.js loads the AWS SDK, `run` (most invocations)
// paid about 20 ms of CPU to load status, report (its HTML page), validate, dry-run and load
// without using them, and `status` loaded the clean pool, piscina and ajv for `run`'s warm pool.
import type { FleetView } from './commands/fleet.js';

/** A setting's flags (two for the filters), with its environment variable and default in the help text. */
function settingOptions(d: Declaration): Option[] {
  const v = DEFAULTS[d.key as keyof Settings];
  const shown = v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) ? `; default ${JSON.stringify(v)}` : '';
  const help = `${d.help} [env ${d.env}${shown}]`;
  if (d.kind === 'filters') {
    // Both flags add to one list, in the order given on the command line (commander keeps a value
    // per flag, so they share this array; flagsOf() hands it on as the setting).
    const filters: Filter[] = [];
    const add = (make: (p: string) => Filter) => (pattern: string) => (filters.push(make(pattern)), filters);
    return [
      new Option(`--include ${d.arg}`, 'clean keys matching this pattern even when an earlier filter or the marker rule excludes them').argParser(add((p) => ({ include: p }))),
      new Option(`--exclude ${d.arg}`, help).argParser(add((p) => ({ exclude: p }))),
    ];
  }
  const o = new Option(d.arg ? `${d.flag} ${d.arg}` : d.flag, help);
  if (d.repeatable) o.argParser((value: string, list: string[] | undefined) => [...(list ?? []), value]);
  return [o];
}

/** The flags of these settings, in the table's order. */
function addSettings(cmd: Command, keys?: Array<keyof Settings>): Command {
  for (const d of SETTINGS) if (!keys || keys.includes(d.key as keyof Settings)) for (const o of settingOptions(d)) cmd.addOption(o);
  return cmd;
}

/** The parsed flags as settings: --include/--exclude become the one `filters` list. */
function flagsOf(o: Record<string, unknown>): Record<string, unknown> {
  const { include, exclude, ...rest } = o;
  return { ...rest, filters: include ?? exclude };
}

/** The settings that say where a run's outcome is announced; `run` and `resume` take them. */
const ALERT_KEYS: Array<keyof Settings> = ['metricsFile', 'pushgateway', 'notify', 'notifyOn'];

/** Where a job's shards deliver, and how to reach it: for `status --dest` and `gate`. */
const DEST_KEYS: Array<keyof Settings> = ['dest', 'destEndpointUrl', 'destRegion', 'endpointUrl', 'region'];

/** The fleet view of the destination the flags, environment or config name. */
async function fleetOf(o: Record<string, unknown>): Promise<FleetView> {
  const s = resolveSettings(o, { config: o.config as string | undefined, only: DEST_KEYS });
  if (!s.dest) throw new UsageError('--dest: which destination? pass --dest s3://BUCKET/PREFIX/ or set CLEANER_DEST');
  const { fleetView } = await import('./commands/fleet.js');
  return fleetView(s.dest, { endpoint: s.destEndpointUrl ?? s.endpointUrl, region: s.destRegion ?? s.region });
}

const CONFIG_FLAG = ['--config <file>', 'config file (default ./cleaner.config.json when present) [env CLEANER_CONFIG]'] as const;

/** The state path of `resume`, `status` and `report`, by the same precedence as `run`. */
function statePath(o: { state?: string; config?: string }): string {
  return resolveSettings({ state: o.state }, { config: o.config, only: ['state'] }).state;
}

function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['text', 'json']).default('text').env('CLEANER_LOG_FORMAT'))
    .option('-q, --quiet', 'only warnings and errors')
    .option('-v, --verbose', 'also per-object detail');
}

function loggerFor(o: { logFormat?: string; quiet?: boolean; verbose?: boolean }) {
  return makeLogger({ format: (o.logFormat ?? 'text') as LogFormat, level: o.quiet ? 'warn' : o.verbose ? 'debug' : 'info' });
}

/** Builds the command tree. */
export function buildProgram(): Command {
  const program = new Command('cleaner')
    .description('Clean JSON-lines event files from an S3 prefix (or a local folder): valid lines to output/, rejected lines explained in errors/.')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ outputError: (str, write) => write(str) });

  const run = addSettings(
    new Command('run').description(
      'list the source, then download and clean every object not already done (precedence: flag > environment > config file > default)',
    ),
  )
    .option('--dry-run', 'list what would be downloaded and cleaned, and why, without doing it')
    .option(...CONFIG_FLAG);
  addLogOptions(run).action(async (o) => {
    const log = loggerFor(o);
    // commander names each option by its table key (--local-dir: localDir), so the flags pass as they are.
    const settings = resolveSettings(flagsOf(o), { config: o.config });
    if (o.dryRun) {
      const { dryRunCommand, formatDryRunEntries, formatDryRunTotals } = await import('./commands/dry-run.js');
      const totals = await dryRunCommand(settings, log, (page) => writeOut(formatDryRunEntries(page)));
      await writeOut(formatDryRunTotals(totals));
      return;
    }
    // The clean threads boot while the rest of the program loads (commands are imported when run).
    const warmed = (await import('./commands/warm-pool.js')).warmPoolFor(settings);
    const { runCommand } = await import('./commands/run.js');
    endWith(await runCommand(settings, log, warmed), log);
  });
  program.addCommand(run);

  const resume = addSettings(new Command('resume').description('finish the newest unfinished run, with the parameters stored with it'), ['state', 'load', ...ALERT_KEYS])
    .option('--run <id>', 'resume this run instead of the newest unfinished one')
    .option(...CONFIG_FLAG);
  addLogOptions(resume).action(async (o) => {
    const log = loggerFor(o);
    // Where alerts go is not stored with a run (URLs may hold secrets): resume takes it anew.
    // So is --load's password: given again here, or from PGPASSWORD / ~/.pgpass.
    const settings = resolveSettings(o, { config: o.config, only: ['state', 'load', ...ALERT_KEYS] });
    const [{ resumeCommand }, { alertSettingsOf }] = await Promise.all([import('./commands/resume.js'), import('./alerts/settings.js')]);
    const outcome = await resumeCommand({ state: settings.state, runId: runIdOf(o), alerts: alertSettingsOf(settings), load: settings.load }, log);
    if (outcome) endWith(outcome, log);
  });
  program.addCommand(resume);

  addSettings(program.command('status').description('where every run and object stands; with --dest, every shard of a job, from the destination alone'), ['state', ...DEST_KEYS])
    .option('--run <id>', 'show this run instead of the latest')
    .option('--json', 'stable JSON on stdout')
    .option('--objects', "the run's objects, a page at a time in key order, instead of its summary")
    .option('--limit <n>', 'with --objects: objects per page (default 1000, at most 10000)')
    .option('--after <key>', "with --objects: start after this key (the previous page's `next`)")
    .option(...CONFIG_FLAG)
    .action(async (o) => {
      // The fleet view only when --dest is given here: a CLEANER_DEST in the environment of a job must not hide the local state.
      if (o.dest !== undefined) {
        const view = await fleetOf(o);
        const { formatFleet } = await import('./commands/fleet.js');
        process.stdout.write(o.json ? JSON.stringify(view, null, 2) + '\n' : formatFleet(view));
        return;
      }
      const { formatObjects, formatStatus, statusObjects, statusReport } = await import('./commands/status.js');
      if (o.objects) {
        const page = statusObjects(statePath(o), { runId: runIdOf(o), after: o.after, limit: o.limit !== undefined ? Number(o.limit) : undefined });
        process.stdout.write(o.json ? JSON.stringify(page, null, 2) + '\n' : formatObjects(page));
        return;
      }
      const report = statusReport(statePath(o), runIdOf(o));
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report));
    });

  addSettings(
    program.command('gate').description("the quality gate over every shard's latest run at the destination: exit 0 to load, 5 when breached, 4 when a shard is missing, failed or unfinished"),
    [...DEST_KEYS, 'maxErrorRate', 'maxRejects'],
  )
    .option('--json', 'the view it judged, as JSON on stdout')
    .option(...CONFIG_FLAG)
    .action(async (o) => {
      const view = await fleetOf(o);
      if (o.json) process.stdout.write(JSON.stringify(view, null, 2) + '\n');
      const s = resolveSettings(o, { config: o.config, only: ['maxErrorRate', 'maxRejects'] });
      const { judgeFleet } = await import('./commands/fleet.js');
      process.stderr.write(`cleaner: ${judgeFleet(view, s)}\n`);
    });

  const validate = addSettings(
    new Command('validate')
      .description('check local files (plain or .gz) against the rules, without S3 or state; exit 5 when any line is rejected')
      .argument('<files...>', 'files to check'),
    ['schema', 'maxLineBytes', 'redact', 'maxErrorsPerLine'],
  )
    .option('--quiet-records', 'print only the summary, not the reject records')
    .option(...CONFIG_FLAG);
  addLogOptions(validate).action(async (files: string[], o) => {
    const log = loggerFor(o);
    const settings = resolveSettings(o, { config: o.config });
    const { formatVerdicts, validateCommand } = await import('./commands/validate.js');
    const verdicts = await validateCommand(files, settings, (rec) => (o.quietRecords ? undefined : process.stdout.write(rec)), log);
    process.stderr.write(formatVerdicts(verdicts));
    if (verdicts.some((v) => v.error)) process.exitCode = ExitCode.usage;
    else if (verdicts.some((v) => v.rejected > 0)) process.exitCode = ExitCode.gateBreached;
  });
  program.addCommand(validate);

  addSettings(program.command('report').description("a run's report: JSON on stdout, or one self-contained HTML page with --html"), ['state'])
    .option('--run <id>', 'report this run instead of the latest')
    .option('--html <file>', 'write the report as an HTML page to this file')
    .option(...CONFIG_FLAG)
    .action(async (o) => {
      const { reportCommand } = await import('./commands/report.js');
      const { htmlPath } = await reportCommand({ state: statePath(o), runId: runIdOf(o), html: o.html }, writeOut);
      if (htmlPath) process.stderr.write(`cleaner: report written to ${htmlPath}\n`);
    });

  addSettings(program.command('prune').description("forget old runs' per-object rows and report files (what incremental runs need of each object stays); then VACUUM"), ['state'])
    .option('--older-than <age>', 'prune runs that finished longer ago than this, e.g. 90d, 12h, 2w; never the latest run, an unfinished one, or one a delivery still needs [env CLEANER_PRUNE_OLDER_THAN]')
    .option(...CONFIG_FLAG)
    .action(async (o) => {
      const s = resolveSettings({ state: o.state, pruneOlderThan: o.olderThan }, { config: o.config, only: ['state', 'pruneOlderThan'] });
      const { formatPrune, pruneCommand } = await import('./commands/prune.js');
      process.stdout.write(formatPrune(pruneCommand({ state: s.state, olderThan: s.pruneOlderThan })));
    });

  const load = addSettings(
    new Command('load').description("load what finished runs published into --load's table, exactly once (the database's ledger skips what it holds)"),
    ['state', 'load', 'table', 'loadRejects'],
  )
    .option('--run <id>', "load this run's target instead of the newest finished run's")
    .option(...CONFIG_FLAG);
  addLogOptions(load).action(async (o) => {
    const settings = resolveSettings(o, { config: o.config, only: ['state', 'load', 'table', 'loadRejects'] });
    const runId = o.run !== undefined ? parseRunId(o.run) : undefined;
    const { loadCommand } = await import('./commands/load.js');
    await loadCommand({ state: settings.state, runId, load: settings.load, table: settings.table, loadRejects: settings.loadRejects }, loggerFor(o));
  });
  program.addCommand(load);

  return program;
}

/** Writes to stdout, waiting for it to drain when its buffer is full (output of millions of lines must not pile up in memory). */
function writeOut(text: string): Promise<void> | void {
  if (!text || process.stdout.write(text)) return;
  return new Promise((done) => process.stdout.once('drain', done));
}

/** A finished run's last line, and its exit code for the process. */
function endWith(outcome: RunOutcome, log: Logger): void {
  (outcome.exitCode === ExitCode.ok ? log.info : log.warn)(outcome.message);
  process.exitCode = outcome.exitCode;
}

/** The --run flag, when given. */
function runIdOf(o: { run?: string }): number | undefined {
  return o.run !== undefined ? parseRunId(o.run) : undefined;
}

function parseRunId(s: string): number {
  if (!/^\d+$/.test(s)) throw new CleanerError(`--run: expected a run number, got ${JSON.stringify(s)}`, ExitCode.usage);
  return Number(s);
}

/** Entry point: parses argv, runs the command, exits with the right code. */
export async function main(argv: string[]): Promise<void> {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      interruptActiveRun(sig);
      process.stderr.write(`cleaner: interrupted by ${sig}; continue with cleaner resume\n`);
      process.exit(ExitCode.interrupted);
    });
  }
  // `cleaner validate … | head` closes our stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram();
  // Every command, not only the root: commander would otherwise exit(1) on a subcommand's usage error.
  for (const c of [program, ...program.commands]) c.exitOverride();
  try {
    await program.parseAsync(rewriteAliases(argv), { from: 'user' });
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      // commander already printed its message (or the help).
      process.exit(e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? 0 : ExitCode.usage);
    }
    if (err instanceof CleanerError) {
      process.stderr.write(`cleaner: error: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`cleaner: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.DEBUG) process.stderr.write(`${(err as Error)?.stack}\n`);
    else process.stderr.write('cleaner: (set DEBUG=1 for the stack trace; please report it)\n');
    process.exit(ExitCode.internal);
  }
}
