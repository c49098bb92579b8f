/**
 * Decides where one line goes: valid, blank, or rejected with a reason. This is the hot path: a
 * valid line usually costs one pass over its bytes (fast-path.ts, where it pays: probe.ts); a line that pass cannot settle
 * costs one UTF-8 check, one string conversion, one JSON.parse and one fail-fast schema check;
 * everything expensive happens only for lines that are rejected.
 */
import { isUtf8 } from 'node:buffer';
import { ACCEPT, REJECT_EXTRA, REJECT_MISSING, REJECT_ONE, UNSURE_LINE } from './fast-path.js';
import { oneBroken } from './fast-path-emit.js';
import { shortcutFor } from './probe.js';
import type { Explained, ExplainPending, Rules, Violation } from './schema.js';

/** Why a line was rejected; documented in README.md. */
export type RejectReason = 'invalid_utf8' | 'invalid_json' | 'not_object' | 'schema' | 'line_too_long';

export interface Rejection {
  reason: RejectReason;
  /** A one-line explanation (the parser's message, the kind of value found). */
  message: string;
  /** For `schema`: the first violations (at most the rules' maxErrorsPerLine). */
  errors?: Violation[];
  /** For `schema`: how many violations the explanation found, kept or not. */
  errorsTotal?: number;
}

/**
 * A Rejection, always with the same four fields in the same order, wherever it was made (here, in
 * the line cleaner, or parsed from the explain desk's answer): the code that counts and records
 * rejections then sees one object shape. (V8 still deoptimizes rejectRecord once per worker, when a
 * field first holds a number where it held undefined; that costs one recompile, not one per shape.)
 */
export function rejection(reason: RejectReason, message: string, errors?: Violation[], errorsTotal?: number): Rejection {
  return { reason, message, errors, errorsTotal };
}

/** The outcome of one line: `null` for valid, 'blank', or a rejection. */
export type Verdict = null | 'blank' | Rejection;

/** True when `buf[start, end)` holds only spaces, tabs, CR, VT or FF (or nothing). */
export function isBlank(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0b && c !== 0x0c) return false;
  }
  return true;
}

/**
 * A line the rules reject, handed to another thread to parse and explain (Rules.explainLater):
 * `settle` gives its verdict once the answer is back.
 */
export class Deferred {
  constructor(readonly pending: ExplainPending) {}
}

/**
 * Classifies the content `buf[start, end)` of one line (terminator excluded) against `rules`.
 * `utf8Known`: the caller already knows these bytes are valid UTF-8 (it checked a whole chunk).
 * `defer`: a line the rules reject may be handed to another thread (see Deferred).
 */
export function classify(buf: Buffer, start: number, end: number, rules: Rules, utf8Known?: boolean): Verdict;
export function classify(buf: Buffer, start: number, end: number, rules: Rules, utf8Known: boolean, defer: true): Verdict | Deferred;
export function classify(buf: Buffer, start: number, end: number, rules: Rules, utf8Known = false, defer = false): Verdict | Deferred {
  // A line that starts with "{" is not blank: skip the scan for the common case. (`buf[start]` is
  // the byte after the range when it is empty, so an empty range must not take the shortcut.)
  if ((start >= end || buf[start] !== 0x7b) && isBlank(buf, start, end)) return 'blank';
  if (!utf8Known && !isUtf8(buf.subarray(start, end))) return rejection('invalid_utf8', 'the line is not valid UTF-8');
  // Most lines are valid: one pass over the bytes settles them without building the value.
  const fast = shortcutFor(rules);
  const verdict = fast === undefined ? UNSURE_LINE : fast(buf, start, end);
  if (verdict === ACCEPT) return null;
  // One member at fault: that value alone is parsed and explained (unless another thread explains).
  if (verdict === REJECT_ONE && !(defer && rules.explainLater)) {
    const one = memberRejection(buf, rules);
    if (one !== undefined) return one;
  }
  // Only keys that are not allowed, or only required keys missing: explained as the last line with
  // the same ones was.
  const keysKey = verdict === REJECT_EXTRA ? extrasMemoKey(oneBroken.extras) : verdict === REJECT_MISSING ? `-${oneBroken.missing}` : undefined;
  if (keysKey !== undefined) {
    const known = recall(rules, keysKey);
    if (known !== undefined) return known;
  }
  const rejected = verdict < UNSURE_LINE;
  const bytes = buf.subarray(start, end);
  // Rejected (the value is never needed here then): the other thread parses it as it explains it.
  // Parsing it here as well made the webhook row (10 KB payloads) 4.02-4.16 s against 3.71-3.91.
  const pending = defer && rejected ? rules.explainLater?.(bytes) : undefined;
  if (pending !== undefined) return new Deferred(pending);
  const parsed = parseObject(bytes);
  if (!isObject(parsed)) return parsed;
  const value = parsed.value;
  try {
    // Decide with the fail-fast validator (unless the fast path already knows this JSON object
    // breaks the rules); only a rejected line is explained.
    if (!rejected && rules.isValid(value)) return null;
    // Parsed again over there: few lines get here, the fast path rejects most that break the rules.
    const later = defer ? rules.explainLater?.(bytes) : undefined;
    if (later !== undefined) return new Deferred(later);
    const v = explained(rules.explain(value), value, rejected, rules);
    if (keysKey !== undefined && v !== null && v !== 'blank' && v.reason === 'schema') remember(keysKey, v);
    return v;
  } catch (err) {
    return uncheckable(err);
  }
}

/**
 * The verdict on a Deferred line (`bytes`: its content), once its answer is back: the other
 * thread's rejection, or, when it found nothing wrong or gave the line back, the line classified
 * here as if it had never been handed over.
 */
export function settle(d: Deferred, bytes: Buffer, rules: Rules): Verdict {
  return d.pending.collect() ?? classify(bytes, 0, bytes.length, rules, true);
}

/**
 * On the thread a line the rules reject was handed to (Rules.explainLater): its rejection as
 * classify gives it, or null when the explanation finds nothing wrong (the line's own thread then
 * has ajv decide again).
 */
export function rejectionOf(bytes: Buffer, rules: Rules): Rejection | null {
  const parsed = parseObject(bytes);
  if (!isObject(parsed)) return parsed;
  try {
    const e = rules.explain(parsed.value);
    return e.total === 0 ? null : schemaRejection(e);
  } catch (err) {
    return uncheckable(err);
  }
}

/**
 * The rejection of a line the fast path found to have one broken member (REJECT_ONE), from that
 * member's value alone, as explaining the whole line gives it (Rules.explainMember); undefined when
 * that cannot be told. Over the bench's web events this spared JSON.parse of the line (15-18 us a
 * rejected line of 460 bytes, first seen, on the Xeon VM) and most of ajv's explanation.
 */
function memberRejection(buf: Buffer, rules: Rules): Rejection | undefined {
  const { key, from, to } = oneBroken;
  // The explanation depends only on the rules, the key and the member's bytes, and broken values
  // repeat (an empty id, one wrong date format): the bench's 5,887 schema rejects of 100 MB had 496
  // distinct ones. Short values only, and at most MEMO_ENTRIES of them and MEMO_CHARS of text.
  let memoKey: string | undefined;
  if (to - from <= MEMO_VALUE_BYTES) {
    // The key's length first: no other key and value can spell the same memo key.
    memoKey = `${key.length}:${key}${buf.toString('latin1', from, to)}`;
    const known = recall(rules, memoKey);
    if (known !== undefined) return known;
  }
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8', from, to));
  } catch {
    return undefined;
  }
  let found: Rejection | undefined;
  try {
    const e = rules.explainMember(key, value);
    found = e === undefined || e.total === 0 ? undefined : schemaRejection(e);
  } catch (err) {
    return uncheckable(err);
  }
  if (found !== undefined && memoKey !== undefined) remember(memoKey, found);
  return found;
}

/**
 * Explanations that depend on a few bytes of a line only, for the rules last used: a broken
 * member's, by its key and value bytes (memberRejection); that of a line whose only fault is keys
 * that are not allowed, by their names (`+` then each name after its length; extrasMemoKey); and
 * that of a line whose only fault is required keys missing, by which (`-` then their bit mask).
 * At most MEMO_ENTRIES of them and MEMO_CHARS of text (a message can quote a long pattern from the
 * rules): emptied when full.
 */
const memo = new Map<string, Rejection>();
let memoRules: Rules | undefined;
/** Characters of text the memo holds (keys, messages, paths), about its size in bytes. */
let memoChars = 0;
const MEMO_ENTRIES = 4096;
const MEMO_CHARS = 4 << 20;
const MEMO_VALUE_BYTES = 256;

/** The rejection remembered under `key` for `rules`, if any (the memo is emptied when the rules change). */
function recall(rules: Rules, key: string): Rejection | undefined {
  if (memoRules !== rules) {
    memoRules = rules;
    memo.clear();
    memoChars = 0;
  }
  return memo.get(key);
}

/** Remembers `found` under `key`, for the rules recall() was last asked about. */
function remember(key: string, found: Rejection): void {
  let size = key.length + found.message.length;
  for (const e of found.errors ?? []) size += e.path.length + e.keyword.length + e.message.length;
  if (memo.size >= MEMO_ENTRIES || memoChars + size > MEMO_CHARS) {
    memo.clear();
    memoChars = 0;
  }
  memo.set(key, found);
  memoChars += size;
}

/** The memo key of a line whose only fault is the keys `names` (REJECT_EXTRA), or undefined when they are long. */
function extrasMemoKey(names: readonly string[]): string | undefined {
  let key = '+';
  for (const name of names) key += `${name.length}:${name}`;
  return key.length <= MEMO_VALUE_BYTES ? key : undefined;
}

/** The line's JSON object, or why it is none. */
function parseObject(bytes: Buffer): { value: object } | Rejection {
  let value: unknown;
  // The message is all a reject record keeps of the SyntaxError: capturing its stack as well made a
  // line that is not JSON cost about twice as much (25 against 15 us, Xeon VM).
  const stackTraceLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    return rejection('invalid_json', String((err as Error).message).slice(0, 300));
  } finally {
    Error.stackTraceLimit = stackTraceLimit;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return rejection('not_object', `the line is ${kind}, not a JSON object`);
  }
  return { value };
}

function isObject(p: { value: object } | Rejection): p is { value: object } {
  return 'value' in p;
}

/** The rejection a line's explanation makes of it. */
function explained(e: Explained, value: unknown, fastReject: boolean, rules: Rules): Verdict {
  // An explanation that finds nothing wrong asks ajv itself: a line is rejected only on its word.
  if (e.total === 0 && fastReject && rules.isValid(value)) return null;
  return schemaRejection(e);
}

function schemaRejection({ errors, total }: Explained): Rejection {
  return rejection('schema', errors.length ? `${errors[0].path} ${errors[0].message}` : 'schema violation', errors, total);
}

/**
 * ajv validates recursively: with a recursive schema ($ref "#"), a line nested about 3,000 objects
 * deep overflows Node 20's default stack. That is one bad line, not a failed object.
 */
function uncheckable(err: unknown): Rejection {
  const message = `the line could not be checked against the rules: ${String((err as Error).message).slice(0, 200)}`;
  return rejection('schema', message, [{ path: '/', keyword: 'nesting', message }], 1);
}
