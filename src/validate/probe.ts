/**
 * Keeps the fast path (fast-path.ts) only where it pays: it is sound for every schema, but not
 * always quicker. On GitHub's webhook schema (a oneOf over 66 event types, 344 definitions, 600 KB)
 * reading a 10 KB payload's bytes against every branch cost about twice JSON.parse plus ajv, while on
 * the built-in rules it is several times quicker. So each thread times both on a window of lines and
 * keeps the quicker. Verdicts do not depend on it: either way they are ajv's.
 */
import { ACCEPT, UNSURE_LINE, type FastCheck } from './fast-path.js';
import type { Rules } from './schema.js';
import { LARGE_RULES } from './rules-size.js';

/**
 * Lines the fast path sees before timing starts, so that V8 has optimized its generated code by
 * then. After 200 lines it had not: per 200-line window from a cold start, the nested-orders fast
 * path took 51, 38, 39, 23, 21, 14 µs a line before settling near 6, against 12-17 for JSON.parse,
 * and the built-in rules' 12 falling to 2.3 against 5-6 (scratch timing, one thread). Timed that
 * early, both lost to JSON.parse, so each thread compiled ajv's validator only to time it (90 ms a
 * thread on the nested schema), and the built-in rules' fast path was kept by a narrow margin.
 */
export const PROBE_SKIP = 2000;
/** Lines timed. */
export const PROBE_LINES = 200;
/**
 * How much slower the fast path must be timed to be dropped: near a tie, keeping it costs little,
 * and on a loaded machine (load 20 on 2 cores) a tie can be timed either way.
 */
export const PROBE_MARGIN = 1.5;
/**
 * How many times JSON.parse alone the exact path is taken to cost, in the first window, for large
 * rules (over LARGE_RULES bytes of text). ajv with formats costs about as much again as JSON.parse on
 * small flat schemas (110-210 against 130-230 MB/s per core here) and ten times as much on GitHub's
 * webhook schema (31 against 300-400 MB/s), whose fast path (24-55 MB/s) is still the quicker. For
 * such rules timing ajv itself would compile its validator: up to 2 s and tens of MB per thread.
 * Smaller rules compile in milliseconds, so JSON.parse is taken only as the lower bound it is (1),
 * and a fast path slower than that is timed against ajv.
 */
export const PARSE_SHARE = 8;

const shortcuts = new WeakMap<Rules, FastCheck | undefined>();

/** The fast path classify() should try for `rules`: the rules' own while it pays, then none. */
export function shortcutFor(rules: Rules): FastCheck | undefined {
  let s = shortcuts.get(rules);
  if (s === undefined && !shortcuts.has(rules)) {
    const fast = rules.fastCheck;
    const parse = (b: Buffer, start: number, end: number): unknown => JSON.parse(b.toString('utf8', start, end));
    const share = rules.text.length > LARGE_RULES ? PARSE_SHARE : 1;
    s = fast === undefined ? undefined : probed(fast, (b, start, end) => rules.isValid(parse(b, start, end)), parse, share);
    shortcuts.set(rules, s);
  }
  return s;
}

/**
 * `fast`, timed against the exact path on a window of PROBE_LINES lines after the first PROBE_SKIP;
 * after it, it answers UNSURE_LINE for every line (the exact path decides) when it was the slower.
 *
 * What is compared: a line the fast path is unsure of takes the exact path in both cases (its fast
 * time is pure cost); a line it rejects is parsed and explained in both cases and spares ajv's
 * decision (left out of both sides); so the fast path on accepted and unsure lines is timed against
 * the exact path on the accepted ones. The first window times only `lowerBound` (JSON.parse, a part
 * of the exact path, `parseShare` times it): a fast path within the margin of that needs no more, and
 * ajv's deciding validator is never compiled for the probe (on a 600 KB schema, a second and tens of
 * MB a thread).
 * Only a fast path slower than that is timed against `exact` itself, on a second window.
 *
 * Medians, not sums: on a busy machine one preemption inside one timed call would otherwise
 * outweigh two hundred lines.
 */
export function probed(fast: FastCheck, exact: (b: Buffer, start: number, end: number) => unknown, lowerBound: (b: Buffer, start: number, end: number) => unknown = exact, parseShare = 1): FastCheck {
  let seen = 0;
  let other = lowerBound;
  let windowEnd = PROBE_SKIP + PROBE_LINES;
  let fastMs: number[] = [];
  let otherMs: number[] = [];
  let pays = true;
  return (b, start, end) => {
    if (!pays) return UNSURE_LINE;
    if (seen >= windowEnd) return fast(b, start, end);
    seen++;
    if (seen <= PROBE_SKIP) return fast(b, start, end);
    const t0 = performance.now();
    const verdict = fast(b, start, end);
    const t1 = performance.now();
    if (verdict >= UNSURE_LINE) fastMs.push(t1 - t0);
    if (verdict === ACCEPT) {
      try {
        other(b, start, end);
      } catch {
        // Only timed: a line too deep for ajv's stack is the fast path's to answer.
      }
      otherMs.push(performance.now() - t1);
    }
    if (seen === windowEnd) {
      const factor = other === exact ? 1 : parseShare;
      // Nothing accepted: what it cost on unsure lines bought nothing (what it rejected, it keeps).
      if (otherMs.length === 0) pays = fastMs.length === 0;
      else pays = median(fastMs) * fastMs.length <= PROBE_MARGIN * factor * median(otherMs) * otherMs.length;
      if (!pays && other !== exact && otherMs.length > 0) {
        // Slower than JSON.parse alone: time it against the whole exact path before dropping it.
        pays = true;
        other = exact;
        windowEnd += PROBE_LINES;
        fastMs = [];
        otherMs = [];
      }
    }
    return verdict;
  };
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}
