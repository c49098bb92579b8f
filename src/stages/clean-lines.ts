/**
 * The per-line work of a clean, shared by a whole object (clean-file.ts) and a block of a large
 * one (clean-block.ts): sends every line the splitter finds to exactly one place, the kept-lines
 * sink, the reject-records sink or the blank count, and keeps the counters a checkpoint records.
 */
import type { LineHandler } from '../lines/splitter.js';
import type { Sink } from '../sinks/appender.js';
import { classify, type RejectReason } from '../validate/classify.js';
import { rejectRecord, type Redactor } from '../validate/reject.js';
import type { Rules } from '../validate/schema.js';
import type { LineCounts } from '../state/queries.js';

/** Example line references kept per rule and object, for reports. */
export const EXAMPLES_PER_RULE = 3;

// Line counters: a checkpoint records them besides offsets and lengths (state/queries.ts).
export type { LineCounts };

/** The rule a violation breaks: its JSON pointer with array indices as "*", and its keyword. */
export function ruleKey(v: { path: string; keyword: string }): string {
  const key = `${v.path} ${v.keyword}`;
  let rule = rules.get(key);
  if (rule === undefined) {
    // Rejects repeat a few violations many times: the pattern ran for each was 4 % of a built-in-rules worker's CPU.
    if (rules.size >= MAX_RULE_KEYS) rules.clear();
    rule = `${v.path.replace(/\/\d+(?=\/|$)/g, '/*')} ${v.keyword}`;
    rules.set(key, rule);
  }
  return rule;
}
const rules = new Map<string, string>();
const MAX_RULE_KEYS = 10_000;

/** What a LineCleaner needs to know besides its sinks. */
export interface LineCleanerOptions {
  rules: Rules;
  redact: Redactor | undefined;
  /** How reject records name the source, and the ETag of the version being cleaned. */
  source: string;
  etag: string;
  maxLineBytes: number;
  /** Called with the reject sink's length before each record is appended (for line renumbering). */
  beforeRecord?: () => void;
  /**
   * When given, kept lines are not copied to the output sink: their input byte ranges are pushed
   * here as absolute [start, end) pairs, one pair per run of consecutive kept lines.
   */
  keptRuns?: number[];
}

/**
 * A LineHandler that classifies each line and appends it where it belongs. Kept lines that follow
 * each other in one chunk are appended as one run (one copy instead of one per line): call
 * `flush()` before the chunk's buffer is reused or the sinks are synced.
 */
export class LineCleaner implements LineHandler {
  private runBuf: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  /** Absolute input offset of the run's first byte. */
  private runOffset = 0;

  constructor(
    /** The counters, updated in place: a checkpoint copies them. */
    readonly counts: LineCounts,
    /** Where kept lines go; null when `keptRuns` is given instead. */
    private readonly out: Sink | null,
    private readonly errs: Sink,
    private readonly opts: LineCleanerOptions,
  ) {}

  line(buf: Buffer, start: number, contentEnd: number, end: number, offset: number, utf8: boolean): void {
    const c = this.counts;
    c.lines++;
    const verdict = classify(buf, start, contentEnd, this.opts.rules, utf8);
    if (verdict === null) {
      c.valid++;
      if (buf === this.runBuf && start === this.runEnd) this.runEnd = end;
      else {
        this.flush();
        this.runBuf = buf;
        this.runStart = start;
        this.runEnd = end;
        this.runOffset = offset;
      }
    } else if (verdict === 'blank') {
      c.blank++;
    } else {
      this.count(verdict.reason, offset, verdict.errors);
      this.opts.beforeRecord?.();
      this.errs.append(rejectRecord(this.origin(offset), verdict, buf.subarray(start, contentEnd), {}, this.opts.redact));
    }
  }

  overlong(head: Buffer, contentLength: number, _total: number, offset: number): void {
    this.counts.lines++;
    this.count('line_too_long', offset);
    const why = { reason: 'line_too_long' as const, message: `the line is ${contentLength} bytes, longer than --max-line-bytes ${this.opts.maxLineBytes}` };
    this.opts.beforeRecord?.();
    this.errs.append(rejectRecord(this.origin(offset), why, head, { length: contentLength }, this.opts.redact));
  }

  /** Appends the pending run of kept lines. */
  flush(): void {
    if (this.runBuf !== null) {
      const runs = this.opts.keptRuns;
      if (runs !== undefined) runs.push(this.runOffset, this.runOffset + this.runEnd - this.runStart);
      else this.out!.append(this.runBuf, this.runStart, this.runEnd);
      this.runBuf = null;
    }
  }

  private origin(offset: number) {
    return { source: this.opts.source, etag: this.opts.etag, line: this.counts.lines, offset };
  }

  private count(reason: RejectReason, offset: number, violations?: Array<{ path: string; keyword: string }>): void {
    const c = this.counts;
    c.rejected++;
    c.byReason[reason] = (c.byReason[reason] ?? 0) + 1;
    if (violations && violations.length) {
      // One count per rule per line, so a line breaking a rule twice (two array items) counts once.
      if (violations.length === 1) this.countRule(ruleKey(violations[0]), offset);
      else for (const rule of new Set(violations.map(ruleKey))) this.countRule(rule, offset);
    } else this.countRule(reason, offset);
  }

  private countRule(rule: string, offset: number): void {
    const f = (this.counts.byRule[rule] ??= { count: 0, examples: [] });
    f.count++;
    if (f.examples.length < EXAMPLES_PER_RULE) f.examples.push({ line: this.counts.lines, offset });
  }
}
