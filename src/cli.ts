/**
 * Flags and commands only. The one place that prints an error and exits: typed errors become one
 * line on stderr and their exit code; anything unexpected is an internal error (stack with DEBUG=1).
 */
import { Command, Option } from 'commander';
import { CleanerError, ExitCode } from './errors.js';
import { DEFAULTS, SETTINGS, resolveSettings, rewriteAliases } from './config.js';
import { makeLogger, type LogFormat } from './log.js';
import { runCommand } from './commands/run.js';
import { resumeCommand } from './commands/resume.js';
import { formatStatus, statusReport } from './commands/status.js';
import { interruptActiveRun } from './commands/drive.js';
import { reportCommand } from './commands/report.js';
import { dryRunCommand, formatDryRun } from './commands/dry-run.js';
import { formatVerdicts, validateCommand } from './commands/validate.js';

function envHelp(key: string): string {
  const s = SETTINGS.find((x) => x.key === key)!;
  const d = DEFAULTS[key as keyof typeof DEFAULTS];
  return ` [env ${s.env}${d !== undefined && d !== null && !(Array.isArray(d) && d.length === 0) ? `; default ${JSON.stringify(d)}` : ''}]`;
}

function addLogOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--log-format <format>', 'log format on stderr').choices(['text', 'json']).default('text'))
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

  const run = new Command('run')
    .description('list the source, then download and clean every object not already done (precedence: flag > environment > config file > default)')
    .option('--source <uri>', `s3://BUCKET/PREFIX, or a local file or directory (no download stage)${envHelp('source')}`)
    .option('--bucket <name>', `S3 bucket (with --prefix)${envHelp('bucket')}`)
    .option('--prefix <prefix>', `key prefix; aliases --remote_dir, --remote-dir${envHelp('prefix')}`)
    .option('--local-dir <dir>', `where input/, output/, errors/ go; alias --local_dir${envHelp('localDir')}`)
    .option('--schema <file>', `JSON Schema rules file (default: the built-in web-event rules)${envHelp('schema')}`)
    .option('--endpoint-url <url>', `S3-compatible endpoint (MinIO, R2, a local server); else AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL${envHelp('endpointUrl')}`)
    .option('--region <region>', `S3 region; else AWS_REGION / AWS_DEFAULT_REGION, else us-east-1${envHelp('region')}`)
    .option('--state <path>', `state database${envHelp('state')}`)
    .option('--concurrency <n>', `parallel downloads${envHelp('concurrency')}`)
    .option('--threads <n>', `clean worker threads${envHelp('threads')}`)
    .option('--max-line-bytes <n>', `longer lines are rejected as line_too_long${envHelp('maxLineBytes')}`)
    .option('--checkpoint-bytes <n>', `input bytes between checkpoints${envHelp('checkpointBytes')}`)
    .option('--redact <fields>', `comma-separated fields masked in reject records${envHelp('redact')}`)
    .option('--max-error-rate <rate>', `quality gate: share of non-blank lines rejected (0.05 or 5%), per object and per run${envHelp('maxErrorRate')}`)
    .option('--max-rejects <n>', `quality gate: most rejected lines in the run${envHelp('maxRejects')}`)
    .option('--delete-input', `delete input/<path> once an object is cleaned, keeping one copy on disk${envHelp('deleteInput')}`)
    .option('--dry-run', 'list what would be downloaded and cleaned, and why, without doing it')
    .option('--config <file>', 'config file (default ./cleaner.config.json when present) [env CLEANER_CONFIG]');
  addLogOptions(run).action(async (o) => {
    const log = loggerFor(o);
    const settings = resolveSettings(
      {
        source: o.source,
        bucket: o.bucket,
        prefix: o.prefix,
        localDir: o.localDir,
        schema: o.schema,
        endpointUrl: o.endpointUrl,
        region: o.region,
        state: o.state,
        concurrency: o.concurrency,
        threads: o.threads,
        maxLineBytes: o.maxLineBytes,
        checkpointBytes: o.checkpointBytes,
        redact: o.redact,
        maxErrorRate: o.maxErrorRate,
        maxRejects: o.maxRejects,
        deleteInput: o.deleteInput,
      },
      o.config,
    );
    if (o.dryRun) {
      process.stdout.write(formatDryRun(await dryRunCommand(settings, log)));
      return;
    }
    const outcome = await runCommand(settings, log);
    (outcome.exitCode === ExitCode.ok ? log.info : log.warn)(outcome.message);
    process.exitCode = outcome.exitCode;
  });
  program.addCommand(run);

  const resume = new Command('resume')
    .description('finish the newest unfinished run, with the parameters stored with it')
    .option('--state <path>', `state database${envHelp('state')}`)
    .option('--run <id>', 'resume this run instead of the newest unfinished one');
  addLogOptions(resume).action(async (o) => {
    const log = loggerFor(o);
    const state = o.state ?? process.env.CLEANER_STATE ?? DEFAULTS.state;
    const outcome = await resumeCommand({ state, runId: o.run !== undefined ? parseRunId(o.run) : undefined }, log);
    if (outcome) {
      (outcome.exitCode === ExitCode.ok ? log.info : log.warn)(outcome.message);
      process.exitCode = outcome.exitCode;
    }
  });
  program.addCommand(resume);

  program
    .command('status')
    .description('where every run and object stands')
    .option('--state <path>', `state database${envHelp('state')}`)
    .option('--run <id>', 'show this run instead of the latest')
    .option('--json', 'stable JSON on stdout')
    .action((o) => {
      const state = o.state ?? process.env.CLEANER_STATE ?? DEFAULTS.state;
      const report = statusReport(state, o.run !== undefined ? parseRunId(o.run) : undefined);
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatStatus(report));
    });

  const validate = new Command('validate')
    .description('check local files (plain or .gz) against the rules, without S3 or state; exit 5 when any line is rejected')
    .argument('<files...>', 'files to check')
    .option('--schema <file>', `JSON Schema rules file (default: the built-in web-event rules)${envHelp('schema')}`)
    .option('--max-line-bytes <n>', `longer lines are rejected as line_too_long${envHelp('maxLineBytes')}`)
    .option('--redact <fields>', `comma-separated fields masked in reject records${envHelp('redact')}`)
    .option('--quiet-records', 'print only the summary, not the reject records');
  addLogOptions(validate).action(async (files: string[], o) => {
    const log = loggerFor(o);
    const settings = resolveSettings({ schema: o.schema, maxLineBytes: o.maxLineBytes, redact: o.redact }, o.config);
    const verdicts = await validateCommand(files, settings, (rec) => (o.quietRecords ? undefined : process.stdout.write(rec)), log);
    process.stderr.write(formatVerdicts(verdicts));
    if (verdicts.some((v) => v.error)) process.exitCode = ExitCode.usage;
    else if (verdicts.some((v) => v.rejected > 0)) process.exitCode = ExitCode.gateBreached;
  });
  program.addCommand(validate);

  program
    .command('report')
    .description("a run's report: JSON on stdout, or one self-contained HTML page with --html")
    .option('--state <path>', `state database${envHelp('state')}`)
    .option('--run <id>', 'report this run instead of the latest')
    .option('--html <file>', 'write the report as an HTML page to this file')
    .action((o) => {
      const state = o.state ?? process.env.CLEANER_STATE ?? DEFAULTS.state;
      const { report, htmlPath } = reportCommand({ state, runId: o.run !== undefined ? parseRunId(o.run) : undefined, html: o.html });
      if (htmlPath) process.stderr.write(`cleaner: report written to ${htmlPath}\n`);
      else process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    });

  return program;
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
