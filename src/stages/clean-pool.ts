/**
 * The pool of clean worker threads (clean-worker.ts is their entry), with the heap limits they run under.
 */
import { Piscina } from 'piscina';
import type { CleanResult, CleanTask, RulesSpec } from './clean-file.js';
import { openExplainDesk, type ExplainDesk } from './explain-desk.js';
import { LARGE_RULES } from '../validate/rules-size.js';

/**
 * Heap limits for a clean worker thread. A worker allocates little on its heap (the fast path
 * builds no values; buffers live outside the heap and are reused), so V8's default young
 * generation (semi-spaces up to 16 MB) only costs resident memory: 2 MB took about 25 MB off a
 * 2-thread run's peak RSS on the bench, with no measurable change in speed, also when every line
 * takes the JSON.parse path (a schema outside the fast path's subset).
 * When the heaps are sized for memory (heap-sizing.ts), --optimize-for-size, a process-wide V8 flag,
 * caps every isolate's new space at 2 MB whatever is asked here. Without that flag, 8 MB here took
 * the bench's workers from 261 to 80 scavenges (400 MB, 2 threads) for about 3 % less user CPU and
 * 15 MB more peak RSS; on the Xeon VM, alternating runs gave 4.73 against 5.37 s in one sitting
 * (built-in rules) and 4.52 against 4.32 s in another (nested rules, 6 rounds): no gain that holds.
 */
const WORKER_LIMITS = { maxYoungGenerationSizeMb: 2 };

/** What a clean worker finds in its workerData. */
export interface CleanWorkerData {
  /** Where it may have this thread explain its rejects (explain-desk.ts). */
  explainLink?: SharedArrayBuffer;
}

/** The clean pool: piscina's, with the explain desk its threads share, closed with it. */
export class CleanPool extends Piscina<CleanTask, CleanResult> {
  constructor(
    threads: number,
    private readonly desk: ExplainDesk | undefined,
  ) {
    // Under tsx (tests) the worker is the .ts source; built, it is the .js beside this file.
    const filename = new URL(`./clean-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
    const workerData: CleanWorkerData = { explainLink: desk?.link };
    super({ filename, maxThreads: threads, minThreads: 1, idleTimeout: 1000, resourceLimits: WORKER_LIMITS, workerData });
  }

  /** Settles once every thread told to compile the rules at once (warm) has; undefined after. */
  private warming: Promise<unknown> | undefined;
  private warmingThreads = 0;
  /** Tasks held back for a warming thread. */
  private waiting = 0;

  /**
   * Has `threads` threads start compiling `rules` at once (warmRules in clean-worker.ts), one task
   * each: with every thread busy, piscina starts another, up to the pool's size.
   */
  warm(rules: RulesSpec, threads: number): void {
    const tasks = Array.from({ length: threads }, () => super.run(rules as unknown as CleanTask, { name: 'warmRules' }).catch(() => undefined));
    // With every thread warming there is none to start: piscina queues tasks for the first free one.
    if (threads >= this.maxThreads) return;
    this.warmingThreads = threads;
    this.warming = Promise.all(tasks).then(() => {
      this.warming = undefined;
    });
  }

  /**
   * A task that a warming thread will take once it has compiled is handed over then: handed over
   * now, it would find every thread busy and piscina would start one more thread for it (0.3-0.4
   * CPU-s to boot and compile, for a run that has one task at a time to give). Tasks beyond the
   * warming threads go at once, and piscina starts threads for them.
   */
  override run(task: CleanTask, options?: Parameters<Piscina<CleanTask, CleanResult>['run']>[1]): Promise<CleanResult> {
    if (this.warming === undefined || this.waiting >= this.warmingThreads) return super.run(task, options);
    this.waiting++;
    return this.warming.then(() => super.run(task, options));
  }

  override async destroy(): Promise<void> {
    this.desk?.close();
    return super.destroy();
  }
}

/**
 * A pool of up to `threads` clean workers; a task is one object, or (named cleanBlock) one block of
 * one. With large `rules` and more than one thread, this thread explains the workers' rejects
 * (explain-desk.ts says why); small rules compile in a few milliseconds, and a reject's trip
 * between threads would cost more than explaining it where it is.
 */
export function openCleanPool(threads: number, rules?: RulesSpec): CleanPool {
  return new CleanPool(threads, rules !== undefined && threads > 1 && rules.schemaText.length > LARGE_RULES ? explainDesk(rules) : undefined);
}

/**
 * A desk that answers with `rules` compiled as a worker compiles them (clean-file.ts's rulesFor),
 * loaded with the first line it is given.
 */
function explainDesk(rules: RulesSpec): ExplainDesk {
  return openExplainDesk({ schemaText: rules.schemaText, maxErrorsPerLine: rules.maxErrorsPerLine }, async () => {
    const [{ rulesFor }, { rejectionOf }] = await Promise.all([import('./clean-file.js'), import('../validate/classify.js')]);
    const compiled = rulesFor(rules);
    return (line) => rejectionOf(line, compiled);
  });
}

/**
 * A pool whose first `warm` threads (all `threads` unless said) start compiling `rules` at once
 * (warmRules in clean-worker.ts), for a run to adopt once it is planned; the others start when the
 * run has tasks for them. Why: planning checks the rules on this thread first, and
 * on GitHub's 600 KB webhook schema that took 0.8 s with the other core idle before any worker
 * started; started early, the threads boot and build their fast path meanwhile. (They used to go
 * on compiling what explaining rejects would need until the run was planned; once they started
 * before the rest of the program loaded, that only slowed the check they waited for: a 200 MB run
 * of that schema took 4.70 s without it against 4.82 s with it, 5 alternating rounds.) A thread
 * that fails to compile says nothing here: the check reports bad rules, and then nothing adopts
 * the pool.
 */
export function openCleanPoolWarming(threads: number, rules: RulesSpec, warm = threads): CleanPool {
  const pool = openCleanPool(threads, rules);
  pool.warm(rules, Math.min(warm, threads));
  return pool;
}
