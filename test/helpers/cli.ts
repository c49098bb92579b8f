/**
 * Runs the real `cleaner` command (bin/cleaner.js over the compiled dist/) as a child process,
 * as a user would: tests assert its stdout, stderr and exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

export const CLI = fileURLToPath(new URL('../../bin/cleaner.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment for the CLI: no inherited AWS settings leak into a test, only what it passes. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('CLEANER_') || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Starts the CLI; the caller may kill it. */
export function spawnCli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs the CLI to completion and collects its output. */
export function runCli(args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, opts);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cleaner ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 120_000} ms\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/**
 * What `cleaner status --json --state <state>` prints, parsed: the same report, made in this process
 * by the function the command prints (statusReport), so that the tests' 90-odd looks at a state
 * after a run or a kill do not each start a process (about 0.45 CPU-s apiece). The command itself,
 * output, exit code and all, is spawned by the tests of `status` (cli, load, operator, hostile).
 */
export async function statusJson(state: string): Promise<any> {
  const { statusReport } = await import('../../src/commands/status.js');
  return JSON.parse(JSON.stringify(statusReport(state)));
}

/**
 * Starts the CLI and SIGKILLs it once `ready()` holds (polled). If it ends first, that fails the
 * test, unless `mayFinish` (a kill at a random instant may come after the end): then it must have
 * succeeded, and the answer is 'finished'.
 */
export async function killWhen(argv: string[], env: Record<string, string>, ready: () => boolean, opts: { mayFinish?: boolean } = {}): Promise<'killed' | 'finished'> {
  const child = spawnCli(argv, { env });
  let stderr = '';
  child.stderr!.on('data', (s) => (stderr += s));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  for (;;) {
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5))]);
    if (done) {
      const code = await exited;
      if (!opts.mayFinish) assert.fail(`cleaner ended (exit ${code}) before it could be killed: ${stderr}`);
      assert.ok(code === 0, `cleaner exited ${code} before it could be killed: ${stderr}`);
      return 'finished';
    }
    if (ready()) {
      child.kill('SIGKILL');
      await exited;
      return 'killed';
    }
  }
}
