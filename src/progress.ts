/**
 * Progress while a run works. On a terminal: live bars with rate and ETA per stage (cli-progress).
 * Elsewhere (CI, cron, a pipe): a plain progress line every few seconds, never escape codes.
 * Figures come from the committed state, so they are exactly what `cleaner status` would say.
 */
import { createRequire } from 'node:module';
// cli-progress is loaded only when bars are drawn (a terminal): most runs (cron, CI, -q) never
// need it, and loading it cost every run about 20 ms of CPU.
const requireLazily = createRequire(import.meta.url);
import type { RunProgress } from './state/queries.js';
import { setTextSink, type Logger } from './log.js';

/** How often plain progress lines are printed when not on a terminal. */
const PLAIN_INTERVAL_MS = Number(process.env.CLEANER_PROGRESS_INTERVAL_MS ?? 10_000);
const BAR_INTERVAL_MS = 250;

export interface ProgressSource {
  /** Committed figures of the run. */
  read(): RunProgress;
  /** Bytes received by downloads so far in this process (finer than the committed figure). */
  downloadedBytes(): number;
  /** Objects listed so far (while the manifest runs). */
  listed(): number;
  kind: 's3' | 'local';
}

/** Starts reporting progress; returns a function that stops it (and prints nothing more). */
export function startProgress(source: ProgressSource, log: Logger, opts: { quiet: boolean }): () => void {
  if (opts.quiet) return () => {};
  const tty = process.stderr.isTTY === true && log.format === 'text' && process.env.TERM !== 'dumb';
  const stop = tty ? startBars(source) : startPlain(source, log);
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    stop();
  };
}

function mb(n: number): string {
  return (n / 1e6).toFixed(1);
}

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function startPlain(source: ProgressSource, log: Logger): () => void {
  const started = Date.now();
  const tick = () => {
    const p = source.read();
    const secs = (Date.now() - started) / 1000;
    const rate = p.cleanedInputBytes / secs;
    const eta = rate > 0 ? (p.totalBytes - p.cleanedInputBytes) / rate : NaN;
    const fields = {
      listed: source.listed() || p.objects,
      downloaded: source.kind === 's3' ? p.downloaded : undefined,
      cleaned: p.cleaned,
      objects: p.objects,
      failed: p.failed,
      lines: p.lines,
      rejected: p.rejected,
      mb_cleaned: Number(mb(p.cleanedInputBytes)),
      mb_total: Number(mb(p.totalBytes)),
      mb_per_s: Number(mb(rate)),
      lines_per_s: Math.round(p.lines / secs),
      eta: duration(eta),
    };
    if (log.format === 'json') log.info('progress', fields);
    else
      log.info(
        `progress: ${fields.cleaned}/${fields.objects} objects cleaned${source.kind === 's3' ? `, ${fields.downloaded} downloaded` : ''}, ` +
          `${fields.mb_cleaned}/${fields.mb_total} MB, ${fields.lines.toLocaleString('en-US')} lines (${fields.lines_per_s.toLocaleString('en-US')}/s), ` +
          `${fields.rejected.toLocaleString('en-US')} rejected, ${fields.mb_per_s} MB/s, eta ${fields.eta}`,
      );
  };
  const timer = setInterval(tick, PLAIN_INTERVAL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

function startBars(source: ProgressSource): () => void {
  const cliProgress = requireLazily('cli-progress') as typeof import('cli-progress');
  const bars = new cliProgress.MultiBar(
    {
      format: ' {stage} |{bar}| {percentage}% {value_mb}/{total_mb} MB {rate} MB/s eta {eta_h} {extra}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      autopadding: true,
      stream: process.stderr,
      fps: 8,
    },
    cliProgress.Presets.shades_classic,
  );
  // Log lines print above the bars instead of tearing them.
  setTextSink((line) => bars.log(line));
  const started = Date.now();
  const mk = (stage: string) => bars.create(1, 0, { stage, value_mb: '0.0', total_mb: '0.0', rate: '0.0', eta_h: '?', extra: '' });
  const download = source.kind === 's3' ? mk('download') : undefined;
  const clean = mk('clean   ');
  const update = () => {
    const p = source.read();
    const secs = Math.max(0.001, (Date.now() - started) / 1000);
    const total = Math.max(1, p.totalBytes);
    if (download) {
      const got = Math.min(total, Math.max(source.downloadedBytes(), 0));
      const rate = got / secs;
      download.setTotal(total);
      download.update(got, { value_mb: mb(got), total_mb: mb(total), rate: mb(rate), eta_h: duration(rate > 0 ? (total - got) / rate : NaN), extra: `${p.downloaded}/${p.objects} objects (listed ${source.listed() || p.objects})` });
    }
    const done = Math.min(total, p.cleanedInputBytes);
    const rate = done / secs;
    clean.setTotal(total);
    clean.update(done, {
      value_mb: mb(done),
      total_mb: mb(total),
      rate: mb(rate),
      eta_h: duration(rate > 0 ? (total - done) / rate : NaN),
      extra: `${p.cleaned}/${p.objects} objects, ${p.lines.toLocaleString('en-US')} lines (${Math.round(p.lines / secs).toLocaleString('en-US')}/s), ${p.rejected.toLocaleString('en-US')} rejected`,
    });
  };
  const timer = setInterval(update, BAR_INTERVAL_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    update();
    bars.stop();
    setTextSink(undefined);
  };
}
