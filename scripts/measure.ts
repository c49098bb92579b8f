/**
 * Runs one command of a benchmark as a child process and measures it: wall time, peak RSS of the
 * whole process (all threads) and its CPU seconds. With GNU time (/usr/bin/time) the figures are
 * its own; without it VmHWM is polled in /proc (the high-water mark, so the last reading before
 * exit is the peak to within one poll) and CPU is unknown (NaN). Shared by every bench script.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one measured run came to. */
export interface Measured {
  seconds: number;
  /** Peak resident set of the whole process (all its threads), bytes. */
  peakRss: number;
  /** User + system CPU seconds of the process (all threads); NaN when unknown. */
  cpu: number;
  stdout: string;
}

const TIME = ['/usr/bin/time', '/bin/time'].find((p) => existsSync(p));

/** Runs `cmd args…` to completion, timing it and taking its peak RSS and CPU; fails on a non-zero exit. */
export async function measure(what: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  const tmp = TIME ? mkdtempSync(join(tmpdir(), 'cleaner-measure-')) : undefined;
  const figures = tmp && join(tmp, 'time');
  const argv = figures ? ['-f', '%M %U %S', '-o', figures, cmd, ...args] : args;
  const started = performance.now();
  const child = spawn(TIME ?? cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  let hwm = 0;
  const poll = figures
    ? undefined
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
        } catch {
          // exited between polls
        }
      }, 20);
  try {
    const code = await new Promise<number | null>((res, rej) => {
      child.on('error', rej);
      child.on('close', (c) => res(c));
    });
    const seconds = (performance.now() - started) / 1000;
    if (code !== 0) throw new Error(`${what} exited ${code}:\n${stderr}`);
    if (!figures) return { seconds, peakRss: hwm, cpu: NaN, stdout };
    // GNU time prints "Command exited with non-zero status" lines before the figures on failure.
    const lines = readFileSync(figures, 'utf8').trim().split('\n');
    const [kb, user, sys] = lines[lines.length - 1].split(' ').map(Number);
    return { seconds, peakRss: kb * 1024, cpu: user + sys, stdout };
  } finally {
    if (poll) clearInterval(poll);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}

/** The median of `xs` (the mean of the middle two for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
