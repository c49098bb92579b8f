/**
 * The per-line work of a clean, shared by a whole object (clean-file.ts) and a block of a large
 * one (clean-block.ts): sends every line the splitter finds to exactly one place, the kept-lines
 * sink, the reject-records sink or the blank count, and keeps the counters a checkpoint records.
 */
import type { LineHandler } from '../lines/splitter.js';
import type { Sink } from '../sinks/appender.js';
import { classify, Deferred, rejection, settle, type RejectReason, type Verdict } from '../validate/classify.js';
import { appendRejectRecord, type Redactor } from '../validate/reject.js';
import type { Rules } from '../validate/schema.js';
import type { LineCounts } from '../state/queries.js';
import { giveBuffer, takeBuffer } from '../sinks/buffer-pool.js';

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

/**
 * Lines a cleaner has out with another thread at once (Deferred): enough to keep that thread busy
 * while this one goes on, few enough that a few workers share its slots (explain-desk.ts).
 */
const MAX_LINES_OUT = 8;
/** Bytes of lines held back at most (memory stays bounded when rejects are far apart). */
const MAX_HELD_BYTES = 16 << 20;
const EMPTY = Buffer.alloc(0);
/** Bytes of LineCleaner.arena: what a few lines out with a few hundred lines between them take (past it, lines are copied one by one). */
const ARENA_BYTES = 2 << 20;
/** A held line that was longer than --max-line-bytes (its bytes are its head). */
const OVERLONG = 'overlong';

/** A line held back behind one being explained elsewhere (LineCleaner.held). */
interface Held {
  verdict: Verdict | Deferred | typeof OVERLONG;
  /** The line's bytes, terminator included (a copy); the head, for an overlong line; none when not needed. */
  bytes: Buffer;
  /** The content's length (for an overlong line, its whole length). */
  contentLength: number;
  /** The content's and terminator's length. */
  length: number;
  offset: number;
  lineNo: number;
}

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
  /**
   * Lines held back, in input order, from the first one another thread is explaining (Deferred, see
   * Rules.explainLater): nothing after a line may be written before it. Each holds a copy of its
   * bytes (the splitter's buffers are reused). They are placed as their answers come back (line,
   * flush), and all of them by drain().
   */
  private held: Held[] = [];
  /** The first of `held` not yet placed. */
  private heldFrom = 0;
  /** Deferred lines in `held`. */
  private waiting = 0;
  /** The bytes `held` copied. */
  private heldBytes = 0;
  /**
   * Where held lines' bytes are copied, from the start again once none is held; taken from the
   * thread's buffer pool on first use and given back by release(), as a worker cleans object after
   * object. With a Buffer of its own for each line, a run over GitHub's webhook payloads took
   * 4.21-4.36 s, against 4.02-4.16 s with the arena.
   */
  private arena: Buffer | undefined;
  private arenaUsed = 0;

  constructor(
    /** The counters, updated in place: a checkpoint copies them. */
    readonly counts: LineCounts,
    /** Where kept lines go; null when `keptRuns` is given instead. */
    private readonly out: Sink | null,
    private readonly errs: Sink,
    private readonly opts: LineCleanerOptions,
  ) {}

  line(buf: Buffer, start: number, contentEnd: number, end: number, offset: number, utf8: boolean): void {
    const lineNo = ++this.counts.lines;
    // The other thread's slots are shared, and held lines are copies: take an answer back before
    // asking for more, or holding more.
    if (this.waiting >= MAX_LINES_OUT || this.heldBytes > MAX_HELD_BYTES) this.placeHeld('one');
    const verdict = classify(buf, start, contentEnd, this.opts.rules, utf8, true);
    if (this.heldFrom === this.held.length && !(verdict instanceof Deferred)) {
      this.place(verdict, buf, start, contentEnd, end, offset, lineNo);
      return;
    }
    // What is already in the run goes before the held lines.
    if (this.heldFrom === this.held.length) this.flushRun();
    if (verdict instanceof Deferred) this.waiting++;
    // A kept line given as a byte range needs no copy of its bytes.
    const bytes = verdict === 'blank' || (verdict === null && this.opts.keptRuns !== undefined) ? EMPTY : this.copy(buf, start, end);
    this.heldBytes += bytes.length;
    this.held.push({ verdict, bytes, contentLength: contentEnd - start, length: end - start, offset, lineNo });
    this.placeHeld('ready');
  }

  overlong(head: Buffer, contentLength: number, _total: number, offset: number): void {
    const lineNo = ++this.counts.lines;
    if (this.heldFrom < this.held.length) this.held.push({ verdict: OVERLONG, bytes: this.copy(head, 0, head.length), contentLength, length: 0, offset, lineNo });
    else this.placeOverlong(head, contentLength, offset, lineNo);
  }

  /**
   * Appends the pending run of kept lines, and the held lines whose turn has come (see `drain`): the
   * buffer the run is in may then be reused.
   */
  flush(): void {
    this.placeHeld('ready');
    this.flushRun();
  }

  /** Places every held line, waiting for their explanations, and appends the pending run: before the sinks are synced. */
  drain(): void {
    this.placeHeld('all');
    this.flushRun();
  }

  /**
   * Ends the cleaner: takes back every line still out with another thread, its answer unused (a
   * clean that ends early, by an error, would otherwise leave its slots on the explain desk taken
   * for the rest of the run), drops the held lines and gives the arena back. Nothing after the last
   * drain() is written.
   */
  release(): void {
    for (let i = this.heldFrom; i < this.held.length; i++) {
      const v = this.held[i].verdict;
      if (v instanceof Deferred) v.pending.collect();
    }
    this.held = [];
    this.heldFrom = 0;
    this.waiting = 0;
    this.heldBytes = 0;
    this.arenaUsed = 0;
    this.runBuf = null;
    if (this.arena !== undefined) giveBuffer(this.arena);
    this.arena = undefined;
  }

  /** Sends a classified line where it belongs, and counts it. */
  private place(verdict: Verdict, buf: Buffer, start: number, contentEnd: number, end: number, offset: number, lineNo: number): void {
    const c = this.counts;
    if (verdict === null) {
      c.valid++;
      // A run given as a byte range goes on with the next line of input, wherever its bytes are (a held line is a copy).
      if (this.runBuf !== null && (this.opts.keptRuns !== undefined ? offset === this.runOffset + this.runEnd - this.runStart : buf === this.runBuf && start === this.runEnd)) this.runEnd += end - start;
      else {
        this.flushRun();
        this.runBuf = buf;
        this.runStart = start;
        this.runEnd = end;
        this.runOffset = offset;
      }
    } else if (verdict === 'blank') {
      c.blank++;
    } else {
      this.count(verdict.reason, offset, lineNo, verdict.errors);
      this.opts.beforeRecord?.();
      appendRejectRecord(this.errs, this.origin(offset, lineNo), verdict, buf.subarray(start, contentEnd), {}, this.opts.redact);
    }
  }

  private placeOverlong(head: Buffer, contentLength: number, offset: number, lineNo: number): void {
    this.count('line_too_long', offset, lineNo);
    const why = rejection('line_too_long', `the line is ${contentLength} bytes, longer than --max-line-bytes ${this.opts.maxLineBytes}`);
    this.opts.beforeRecord?.();
    appendRejectRecord(this.errs, this.origin(offset, lineNo), why, head, { length: contentLength }, this.opts.redact);
  }

  /**
   * Places held lines in order: all of them; up to the first one explained elsewhere (`one`); or
   * (`ready`) up to the first one whose explanation is not back yet.
   */
  private placeHeld(how: 'all' | 'one' | 'ready'): void {
    while (this.heldFrom < this.held.length) {
      const h = this.held[this.heldFrom];
      const v = h.verdict;
      if (how === 'ready' && v instanceof Deferred && !v.pending.ready()) break;
      this.heldFrom++;
      this.heldBytes -= h.bytes.length;
      if (v === OVERLONG) this.placeOverlong(h.bytes, h.contentLength, h.offset, h.lineNo);
      else if (!(v instanceof Deferred)) this.place(v, h.bytes, 0, h.contentLength, h.length, h.offset, h.lineNo);
      else {
        this.waiting--;
        this.place(settle(v, h.bytes.subarray(0, h.contentLength), this.opts.rules), h.bytes, 0, h.contentLength, h.length, h.offset, h.lineNo);
        if (how === 'one') break;
      }
    }
    if (this.heldFrom === this.held.length && this.heldFrom > 0) {
      this.held = [];
      this.heldFrom = 0;
      // The run may be in the arena, which is written over from here.
      this.flushRun();
      this.arenaUsed = 0;
    }
  }

  /** A copy of `buf[start, end)` that stays as it is while held. */
  private copy(buf: Buffer, start: number, end: number): Buffer {
    const arena = (this.arena ??= takeBuffer(ARENA_BYTES));
    const at = this.arenaUsed;
    if (at + end - start > arena.length) return Buffer.from(buf.subarray(start, end));
    this.arenaUsed += buf.copy(arena, at, start, end);
    return arena.subarray(at, this.arenaUsed);
  }

  /** Appends the pending run of kept lines. */
  private flushRun(): void {
    if (this.runBuf !== null) {
      const runs = this.opts.keptRuns;
      if (runs !== undefined) runs.push(this.runOffset, this.runOffset + this.runEnd - this.runStart);
      else this.out!.append(this.runBuf, this.runStart, this.runEnd);
      this.runBuf = null;
    }
  }

  private origin(offset: number, lineNo: number) {
    return { source: this.opts.source, etag: this.opts.etag, line: lineNo, offset };
  }

  private count(reason: RejectReason, offset: number, lineNo: number, violations?: Array<{ path: string; keyword: string }>): void {
    const c = this.counts;
    c.rejected++;
    c.byReason[reason] = (c.byReason[reason] ?? 0) + 1;
    if (violations && violations.length) {
      // One count per rule per line, so a line breaking a rule twice (two array items) counts once.
      if (violations.length === 1) this.countRule(ruleKey(violations[0]), offset, lineNo);
      else for (const rule of new Set(violations.map(ruleKey))) this.countRule(rule, offset, lineNo);
    } else this.countRule(reason, offset, lineNo);
  }

  private countRule(rule: string, offset: number, lineNo: number): void {
    const f = (this.counts.byRule[rule] ??= { count: 0, examples: [] });
    f.count++;
    if (f.examples.length < EXAMPLES_PER_RULE) f.examples.push({ line: lineNo, offset });
  }
}
