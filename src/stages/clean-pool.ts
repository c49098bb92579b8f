/**
 * The pool of clean worker threads (clean-worker.ts is their entry), with the heap limits they run under.
 */
import { Piscina } from 'piscina';
import type { CleanResult, CleanTask, RulesSpec } from './clean-file.js';

/**
 * Heap limits for a clean worker thread. A worker allocates little on its heap (the fast path
 * builds no values; buffers live outside the heap and are reused), so V8's default young
 * generation (semi-spaces up to 16 MB) only costs resident memory: 2 MB took about 25 MB off a
 * 2-thread run's peak RSS on the bench, with no measurable change in speed, also when every line
 * takes the JSON.parse path (a schema outside the fast path's subset).
 * Under bin/cleaner.js this limit changes nothing: its --optimize-for-size (a process-wide V8 flag,
 * so the workers' too) caps every isolate's new space at 2 MB whatever is asked here. Without that
 * flag, 8 MB here took the bench's workers from 261 to 80 scavenges (400 MB, 2 threads) for about
 * 3 % less user CPU and 15 MB more peak RSS; but dropping the flag took a first run over 6,000
 * tiny objects (`npm run bench -- --objects 6000`) from 123 MB to 161 MB peak RSS.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };

export type CleanPool = Piscina<CleanTask, CleanResult>;

/** A pool of up to `threads` clean workers; a task is one object, or (named cleanBlock) one block of one. */
export function openCleanPool(threads: number): CleanPool {
  // Under tsx (tests) the worker is the .ts source; built, it is the .js beside this file.
  const workerFile = new URL(`./clean-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
  return new Piscina<CleanTask, CleanResult>({ filename: workerFile, maxThreads: threads, minThreads: 1, idleTimeout: 1000, resourceLimits: WORKER_LIMITS });
}

/**
 * A pool whose `threads` threads start compiling `rules` at once (warmRules in clean-worker.ts),
 * for a run to adopt once it is planned. Why: planning checks the rules on this thread first, and
 * on GitHub's 600 KB webhook schema that took 0.8 s with the other core idle before any worker
 * started; started early, the threads boot and build their fast path meanwhile. (They used to go
 * on compiling what explaining rejects would need until the run was planned; once they started
 * before the rest of the program loaded, that only slowed the check they waited for: a 200 MB run
 * of that schema took 4.70 s without it against 4.82 s with it, 5 alternating rounds.) A thread
 * that fails to compile says nothing here: the check reports bad rules, and then nothing adopts
 * the pool.
 */
export function openCleanPoolWarming(threads: number, rules: RulesSpec): CleanPool {
  const pool = openCleanPool(threads);
  // One task per thread: with every thread busy, piscina starts another, up to `threads`.
  for (let t = 0; t < threads; t++) pool.run(rules as unknown as CleanTask, { name: 'warmRules' }).catch(() => undefined);
  return pool;
}
