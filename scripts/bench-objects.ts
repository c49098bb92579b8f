/**
 * `npm run bench -- --objects N`: cleaner on a lake of N tiny objects (one or two JSON lines each,
 * served by the generated endpoint of test/helpers/lake-s3.ts, nothing stored), next to `aws s3
 * sync` of the same endpoint as the anchor (download only).
 *
 *   npm run bench -- --objects 50000 [--new 1000] [--dir /tmp/cleaner-bench-objects]
 *                    [--cli path/to/bin/cleaner.js] [--concurrency N] [--skip-aws] [--schema FILE]
 *
 * Measures, each as its own child process: a first run over N objects; an incremental run after
 * `--new` objects were added (default N/1000, at least 1); `aws s3 sync` of the N objects. With
 * `--schema`, cleaner checks the objects' lines against those rules instead of the built-in ones. Prints
 * wall time, objects/s and the peak RSS of the whole process (/usr/bin/time, else VmHWM polled in
 * /proc). Checks that the first run cleaned every object and the incremental one only the new.
 * The AWS CLI is installed with apt-get when absent and possible; otherwise the bench says so.
 * It prints figures; it never asserts a time.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { measure, type Measured } from './measure.js';
import { startLake } from '../test/helpers/lake-s3.js';
import { CLI, cliEnv } from '../test/helpers/cli.js';

/** The AWS CLI, installed with apt-get when absent (and we may); undefined with the reason when it cannot be. */
function awsCli(): { path?: string; why?: string } {
  const which = () => spawnSync('sh', ['-c', 'command -v aws'], { encoding: 'utf8' }).stdout.trim();
  if (which()) return { path: which() };
  if (process.getuid?.() !== 0) return { why: 'the AWS CLI is not installed and this user cannot apt-get install it' };
  process.stderr.write('installing the AWS CLI (apt-get install -y awscli) for the anchor...\n');
  const r = spawnSync('sh', ['-c', 'apt-get install -y awscli >/dev/null 2>&1 || (apt-get update >/dev/null 2>&1 && apt-get install -y awscli >/dev/null 2>&1)']);
  if (r.status === 0 && which()) return { path: which() };
  return { why: 'the AWS CLI is not installed and `apt-get install -y awscli` failed' };
}

/** Runs the objects bench with the command-line arguments after `--objects`. */
export async function benchObjects(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      objects: { type: 'string' },
      new: { type: 'string' },
      dir: { type: 'string', default: '/tmp/cleaner-bench-objects' },
      cli: { type: 'string' },
      concurrency: { type: 'string' },
      'skip-aws': { type: 'boolean', default: false },
      schema: { type: 'string' },
    },
  });
  const n = Number(values.objects);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--objects must be a positive integer, got ${values.objects}`);
  const added = values.new !== undefined ? Number(values.new) : Math.max(1, Math.round(n / 1000));
  const dir = resolve(values.dir!);
  const cli = values.cli ? resolve(values.cli) : CLI;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });

  const lake = await startLake({ count: n });
  const env = cliEnv(lake.env()) as Record<string, string>;
  const local = join(dir, 'cleaner');
  const runArgs = [cli, 'run', '--source', `s3://${lake.bucket}/${lake.prefix}`, '--local-dir', local, '--state', join(local, 'state.db'), '--quiet'];
  if (values.concurrency) runArgs.push('--concurrency', values.concurrency);
  if (values.schema) runArgs.push('--schema', resolve(values.schema));
  const status = () => JSON.parse(spawnSync(process.execPath, [cli, 'status', '--json', '--state', join(local, 'state.db')], { env, encoding: 'utf8' }).stdout);

  const rows: Array<{ what: string; objects: number; m: Measured }> = [];
  const row = (what: string, objects: number, m: Measured) => {
    rows.push({ what, objects, m });
    process.stderr.write(`${what}: ${m.seconds.toFixed(1)} s\n`);
  };
  try {
    process.stderr.write(`lake of ${n.toLocaleString('en-US')} objects on ${lake.endpoint}; cleaner ${cli}\n`);
    const first = await measure('first run', process.execPath, runArgs, env);
    let t = status().totals;
    if (t.objects_done !== n || t.objects_failed !== 0) throw new Error(`first run: ${JSON.stringify(t)}`);
    row('cleaner, first run', n, first);

    lake.count = n + added;
    const inc = await measure('incremental run', process.execPath, runArgs, env);
    t = status().totals;
    if (t.objects_done !== n + added || t.objects_skipped !== n) throw new Error(`incremental run: ${JSON.stringify(t)}`);
    row(`cleaner, incremental (+${added})`, n + added, inc);
    lake.count = n;

    const aws = values['skip-aws'] ? { why: '--skip-aws' } : awsCli();
    let anchorNote = '';
    if (aws.path) {
      const cfg = join(dir, 'aws-config');
      // Path-style against a loopback endpoint; the same connection count as cleaner's default.
      writeFileSync(cfg, '[default]\ns3 =\n  addressing_style = path\n  max_concurrent_requests = 16\n');
      const sync = await measure(
        'aws s3 sync',
        aws.path,
        ['s3', 'sync', `s3://${lake.bucket}/${lake.prefix}`, join(dir, 'aws'), '--endpoint-url', lake.endpoint, '--only-show-errors', '--no-progress'],
        { ...env, AWS_CONFIG_FILE: cfg, AWS_ENDPOINT_URL_S3: '' },
      );
      row('aws s3 sync (download only)', n, sync);
    } else anchorNote = `anchor: no \`aws s3 sync\` figures: ${aws.why}`;

    const mb = (b: number) => `${Math.round(b / 1e6)} MB`;
    const out = [
      '',
      `objects bench: N = ${n.toLocaleString('en-US')} tiny objects (${lake.body(1).length}-${lake.body(0).length} bytes), ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${mb(totalmem())} RAM`,
      `command: npm run bench -- ${argv.join(' ')}`,
      '',
      '| case | objects | seconds | objects/s | peak RSS |',
      '|---|--:|--:|--:|--:|',
      ...rows.map((r) => `| ${r.what} | ${r.objects.toLocaleString('en-US')} | ${r.m.seconds.toFixed(1)} | ${Math.round(r.objects / r.m.seconds).toLocaleString('en-US')} | ${mb(r.m.peakRss)} |`),
    ];
    if (anchorNote) out.push('', anchorNote);
    process.stdout.write(out.join('\n') + '\n');
  } finally {
    await lake.stop();
  }
}
