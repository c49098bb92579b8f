/**
 * `cleaner validate FILE...`: checks local files (plain or .gz) against the rules, without S3 or
 * state. Prints the same reject records as a run (stdout) and a summary (stderr); useful in a
 * producer's CI, where a non-zero exit stops bad data before it is uploaded.
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { UsageError } from '../errors.js';
import { LineSplitter } from '../lines/splitter.js';
import { classify, rejection } from '../validate/classify.js';
import { rejectRecord } from '../validate/reject.js';
import { makeRedactor } from '../validate/redact.js';
import { loadRules } from '../validate/schema.js';
import type { Logger } from '../log.js';
import type { Settings } from '../settings.js';

export interface FileVerdict {
  file: string;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  byReason: Record<string, number>;
  error?: string;
}

/** Validates each file; reject records go to `out` as they are found. */
export async function validateCommand(
  files: string[],
  opts: Pick<Settings, 'schema' | 'maxLineBytes' | 'redact' | 'maxErrorsPerLine'>,
  out: (record: Buffer) => void,
  log: Logger,
): Promise<FileVerdict[]> {
  if (files.length === 0) throw new UsageError('validate needs at least one FILE');
  const rules = loadRules(opts.schema, { maxErrorsPerLine: opts.maxErrorsPerLine });
  for (const w of rules.warnings) log.warn(`schema ${rules.origin}: ${w}`);
  const redact = makeRedactor(opts.redact);
  const verdicts: FileVerdict[] = [];
  for (const file of files) {
    const v: FileVerdict = { file, lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {} };
    verdicts.push(v);
    const reject = (reason: string) => {
      v.rejected++;
      v.byReason[reason] = (v.byReason[reason] ?? 0) + 1;
    };
    const splitter = new LineSplitter(
      {
        line(buf, start, contentEnd, _end, offset) {
          v.lines++;
          const verdict = classify(buf, start, contentEnd, rules);
          if (verdict === null) v.valid++;
          else if (verdict === 'blank') v.blank++;
          else {
            reject(verdict.reason);
            out(rejectRecord({ source: file, etag: '', line: v.lines, offset }, verdict, buf.subarray(start, contentEnd), {}, redact));
          }
        },
        overlong(head, contentLength, _total, offset) {
          v.lines++;
          reject('line_too_long');
          const why = rejection('line_too_long', `the line is ${contentLength} bytes, longer than --max-line-bytes ${opts.maxLineBytes}`);
          out(rejectRecord({ source: file, etag: '', line: v.lines, offset }, why, head, { length: contentLength }, redact));
        },
      },
      { maxLineBytes: opts.maxLineBytes },
    );
    try {
      const stream = createReadStream(file, { highWaterMark: 1 << 20 });
      let src: Readable = stream;
      if (/\.gz$/i.test(file)) {
        const gunzip = createGunzip();
        stream.on('error', (e) => gunzip.destroy(e));
        src = stream.pipe(gunzip);
      }
      for await (const chunk of src as AsyncIterable<Buffer>) splitter.push(chunk);
      splitter.end();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      v.error = e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory' : e.code?.startsWith('Z_') ? `corrupt gzip (${e.message})` : e.message;
    }
  }
  return verdicts;
}

/** The summary printed after the records. */
export function formatVerdicts(verdicts: FileVerdict[]): string {
  return (
    verdicts
      .map((v) =>
        v.error
          ? `${v.file}: ERROR ${v.error} (after ${v.lines} lines)`
          : `${v.file}: ${v.lines} lines, ${v.valid} valid, ${v.rejected} rejected${v.rejected ? ` (${Object.entries(v.byReason).map(([k, n]) => `${k} ${n}`).join(', ')})` : ''}, ${v.blank} blank`,
      )
      .join('\n') + '\n'
  );
}
