/**
 * One thread (the run's main thread) explains the rejected lines of every clean worker, for large
 * rules. Why: explaining a reject compiles the branches of the rules it reaches on first sight, and
 * on GitHub's 600 KB webhook schema that first sight (ajv's code generation, V8 compiling what it
 * generated, the garbage of both) was most of a run's CPU, paid again in every thread: a 200 MB run
 * spent 4.4 CPU-s of its 9.7 explaining 3,282 rejects. Explained in one place, it is paid once.
 *
 * How: the pool's threads share a SharedArrayBuffer with the main thread (the link) holding a few
 * slots. A worker with a reject claims a free slot, writes the line's bytes, rings the doorbell and
 * goes on with its next lines. The main thread, woken by Atomics.waitAsync, parses and explains the
 * line and writes its rejection back into the slot (classify.ts's rejectionOf). The worker collects
 * it (Atomics.wait) before it writes anything that follows the line: clean-lines.ts holds those
 * lines back until then. Waiting for each answer at once left both workers idle while the main
 * thread explained for one of them: that run took 4.53 s, against 3.7-3.9 s now and 4.4-4.8 s
 * before the desk.
 * A worker that finds no free slot, a line too long for a slot, or a main thread that does not take
 * the line within ASK_TIMEOUT_MS, classifies the line itself: the same rules compiled the same way
 * give the same rejection either way.
 */
import { createHash } from 'node:crypto';
import { rejection, type Rejection } from '../validate/classify.js';
import type { ExplainPending, Rules } from '../validate/schema.js';

/** What a worker may ask the main thread to explain with: the rules' text and the violations kept per line. */
export interface DeskRules {
  schemaText: string;
  maxErrorsPerLine: number;
}

/**
 * Slots: room for each of a few workers to have several lines out at once (clean-lines.ts keeps at
 * most MAX_LINES_OUT each). A worker that finds all of them taken explains on its own thread.
 */
const SLOTS = 16;
/** Bytes a slot holds: a longer line (or answer) is classified by its worker. */
const SLOT_BYTES = 1 << 20;
/**
 * How long a worker waits for the main thread to take its line before explaining it itself. The main
 * thread answers in well under a millisecond when idle; it may be busy for a while (a listing page, a
 * checkpoint), and waiting that out is cheaper than compiling an explainer in this thread.
 */
const ASK_TIMEOUT_MS = 2_000;

// Slot states.
const FREE = 0;
/** A worker is writing its line. */
const CLAIMED = 1;
/** The line is there for the main thread. */
const ASKED = 2;
/** The main thread is answering it (the worker can no longer take it back). */
const TAKEN = 3;
/** The answer is there for the worker. */
const ANSWERED = 4;

// The link's layout: a header of Int32s, then each slot's bytes.
/** Int32 index: 1 once the desk has closed (its main-thread loops end). */
const H_CLOSED = 0;
/** Int32 index: the rules' maxErrorsPerLine. */
const H_MAX_ERRORS = 1;
/** Int32 index: the doorbell, changed (and notified) whenever a line is put in a slot. */
const H_BELL = 2;
/** Byte offset of the sha256 of the rules' text (32 bytes), after the Int32s above. */
const HASH_AT = 16;
/** Int32 index of slot s's state is SLOT_STATE + 2 s; its length (of the line, then of the answer) follows it. */
const SLOT_STATE = (HASH_AT + 32) / 4;
const DATA_AT = (SLOT_STATE + 2 * SLOTS) * 4;

/** Atomics.waitAsync: in Node 20's V8, but in TypeScript's ES2024 library, newer than this project's target. */
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: Promise<string> | string } }).waitAsync.bind(Atomics);

/** The main thread's side: the link to give the workers, and how to stop serving it. */
export interface ExplainDesk {
  link: SharedArrayBuffer;
  close(): void;
}

/**
 * Starts answering, on this thread, the lines workers put on the returned link, with the function
 * `load` resolves to (the rules compiled as a worker compiles them: answers must not depend on where
 * they ran). `load` is called when the first line arrives: a run's main thread is checking the rules
 * while its workers start, and compiling them again meanwhile delayed that check, which every
 * worker waits for (on GitHub's webhook schema it took 0.12 s of the main thread's first 0.38 s,
 * before the check began). An answer that throws is left to the line's worker; a `load` that fails
 * closes the desk.
 */
export function openExplainDesk(rules: DeskRules, load: () => Promise<(line: Buffer) => Rejection | null>): ExplainDesk {
  const link = new SharedArrayBuffer(DATA_AT + SLOTS * SLOT_BYTES);
  const ints = new Int32Array(link);
  ints[H_MAX_ERRORS] = rules.maxErrorsPerLine;
  createHash('sha256').update(rules.schemaText).digest().copy(Buffer.from(link, HASH_AT, 32));
  const close = (): void => {
    Atomics.store(ints, H_CLOSED, 1);
    Atomics.add(ints, H_BELL, 1);
    Atomics.notify(ints, H_BELL);
    // A worker waiting for a line nobody took takes it back.
    for (let s = 0; s < SLOTS; s++) Atomics.notify(ints, SLOT_STATE + 2 * s);
  };
  void serve(ints, load).catch(close);
  return { link, close };
}

/** The main thread's loop: answer every line put in a slot, then wait for the doorbell; until the desk closes. */
async function serve(ints: Int32Array, load: () => Promise<(line: Buffer) => Rejection | null>): Promise<void> {
  const slots = Array.from({ length: SLOTS }, (_, s) => Buffer.from(ints.buffer as SharedArrayBuffer, DATA_AT + s * SLOT_BYTES, SLOT_BYTES));
  let answer: ((line: Buffer) => Rejection | null) | undefined;
  while (Atomics.load(ints, H_CLOSED) === 0) {
    // Read before looking: a line put in a slot after the look changes it, and the wait below returns at once.
    const bell = Atomics.load(ints, H_BELL);
    let found = false;
    for (let s = 0; s < SLOTS; s++) {
      const at = SLOT_STATE + 2 * s;
      if (Atomics.load(ints, at) !== ASKED) continue;
      answer ??= await load();
      // The worker may have given up waiting and taken its line back.
      if (Atomics.compareExchange(ints, at, ASKED, TAKEN) !== ASKED) continue;
      found = true;
      const data = slots[s];
      const out = encode(answer, data.subarray(0, Atomics.load(ints, at + 1)));
      // No answer, or one too long to pass back: a length of -1 tells the worker to explain the line itself.
      const fits = out !== undefined && out.length <= SLOT_BYTES;
      if (fits) out.copy(data);
      Atomics.store(ints, at + 1, fits ? out.length : -1);
      Atomics.store(ints, at, ANSWERED);
      Atomics.notify(ints, at);
    }
    if (found) continue;
    // A pending waitAsync does not keep the process alive: a desk left open ends with it.
    const w = waitAsync(ints, H_BELL, bell);
    if (w.async) await w.value;
  }
}

/** The answer for `line` as it crosses the link, or undefined when answering it threw. */
function encode(answer: (line: Buffer) => Rejection | null, line: Buffer): Buffer | undefined {
  try {
    return Buffer.from(JSON.stringify(answer(line)), 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * A worker's side, or undefined when `link` serves other rules: a function that puts a rejected
 * line on the desk and returns its pending answer, or undefined when the line must be explained here.
 */
export function explainerAt(link: SharedArrayBuffer, rules: Pick<Rules, 'hash' | 'maxErrorsPerLine'>): ((line: Buffer) => ExplainPending | undefined) | undefined {
  const ints = new Int32Array(link);
  if (ints[H_MAX_ERRORS] !== rules.maxErrorsPerLine || Buffer.from(link, HASH_AT, 32).toString('hex') !== rules.hash) return undefined;
  return (line) => {
    if (line.length > SLOT_BYTES || Atomics.load(ints, H_CLOSED) !== 0) return undefined;
    let s = 0;
    while (s < SLOTS && Atomics.compareExchange(ints, SLOT_STATE + 2 * s, FREE, CLAIMED) !== FREE) s++;
    if (s === SLOTS) return undefined;
    const at = SLOT_STATE + 2 * s;
    const data = Buffer.from(link, DATA_AT + s * SLOT_BYTES, SLOT_BYTES);
    line.copy(data);
    Atomics.store(ints, at + 1, line.length);
    Atomics.store(ints, at, ASKED);
    Atomics.add(ints, H_BELL, 1);
    Atomics.notify(ints, H_BELL);
    const asked = Date.now();
    const ready = (): boolean => Atomics.load(ints, at) === ANSWERED;
    const collect = (): Rejection | null | undefined => {
      const deadline = asked + ASK_TIMEOUT_MS;
      for (;;) {
        const state = Atomics.load(ints, at);
        if (state === ANSWERED) break;
        // Not taken in time, or the desk closed: take the line back, unless the main thread just took it.
        if (state === ASKED && (Date.now() >= deadline || Atomics.load(ints, H_CLOSED) !== 0)) {
          if (Atomics.compareExchange(ints, at, ASKED, FREE) === ASKED) return undefined;
          continue;
        }
        // A taken line is always answered: the main thread answers it in one go.
        Atomics.wait(ints, at, state, state === ASKED ? Math.max(1, deadline - Date.now()) : undefined);
      }
      const length = Atomics.load(ints, at + 1);
      const a = length < 0 ? undefined : reshaped(JSON.parse(data.toString('utf8', 0, length)) as Rejection | null);
      Atomics.store(ints, at, FREE);
      return a;
    };
    return { ready, collect };
  };
}

/** A rejection as it crossed the link (JSON leaves out the fields that were undefined), in the one shape classify.ts makes. */
function reshaped(r: Rejection | null): Rejection | null {
  return r === null ? null : rejection(r.reason, r.message, r.errors, r.errorsTotal);
}
