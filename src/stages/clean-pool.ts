/**
 * The pool of clean worker threads (clean-worker.ts is their entry), with the heap limits they run
 * under, and for a local source this thread as one of them.
 */
import { Piscina, valueSymbol } from 'piscina';
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

type RunOptions = Parameters<Piscina<CleanTask, CleanResult>['run']>[1];

/**
 * The clean pool: piscina's, with the explain desk its threads share, closed with it. With a main
 * lane, this thread is one of the `threads` that clean (piscina starts one fewer): see
 * openCleanPool for when, and why.
 */
export class CleanPool extends Piscina<CleanTask, CleanResult> {
  constructor(
    threads: number,
    private readonly desk: ExplainDesk | undefined,
    readonly mainLane = false,
  ) {
    // Under tsx (tests) the worker is the .ts source; built, it is the .js beside this file.
    const filename = new URL(`./clean-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
    const workerData: CleanWorkerData = { explainLink: desk?.link };
    // A main lane of one thread starts no worker at all (piscina wants room for one all the same).
    const workers = mainLane ? threads - 1 : threads;
    super({ filename, maxThreads: Math.max(workers, 1), minThreads: Math.min(workers, 1), idleTimeout: 1000, resourceLimits: WORKER_LIMITS, workerData });
    this.workers = workers;
  }

  /** Threads of piscina's that clean: all of them, or none when this thread alone does. */
  private readonly workers: number;

  /** With a main lane: tasks waiting for a worker or this thread, whichever is free first. */
  private readonly queued: Array<() => void> = [];
  private mainBusy = false;
  /** Tasks handed to piscina and not settled: at most its threads, so none waits in its queue. */
  private inWorkers = 0;

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

  /** Runs a task on a worker, or with a main lane on whichever of a worker and this thread is free first. */
  override run(task: CleanTask, options?: RunOptions): Promise<CleanResult> {
    if (!this.mainLane) return this.toWorker(task, options);
    return new Promise<CleanResult>((resolve, reject) => {
      this.queued.push(() => {
        // A worker first: a run with one task at a time leaves this thread to its own work.
        const here = this.inWorkers >= this.workers;
        if (here) this.mainBusy = true;
        else this.inWorkers++;
        (here ? cleanHere(task, options?.name ?? undefined) : this.toWorker(task, options)).then(resolve, reject).finally(() => {
          if (here) this.mainBusy = false;
          else this.inWorkers--;
          this.handOut();
        });
      });
      this.handOut();
    });
  }

  private handOut(): void {
    while (this.queued.length > 0 && (this.inWorkers < this.workers || !this.mainBusy)) this.queued.shift()!();
  }

  /**
   * A task that a warming thread will take once it has compiled is handed over then: handed over
   * now, it would find every thread busy and piscina would start one more thread for it (0.3-0.4
   * CPU-s to boot and compile, for a run that has one task at a time to give). Tasks beyond the
   * warming threads go at once, and piscina starts threads for them.
   */
  private toWorker(task: CleanTask, options?: RunOptions): Promise<CleanResult> {
    if (this.warming === undefined || this.waiting >= this.warmingThreads) return super.run(task, options);
    this.waiting++;
    return this.warming.then(() => super.run(task, options));
  }

  override async destroy(): Promise<void> {
    this.desk?.close();
    if (this.mainLane) (await import('./clean-file.js')).closeThreadState();
    return super.destroy();
  }
}

/**
 * A task run on this thread, as a worker runs it (clean-worker.ts); a block's result, which a
 * worker would hand over with piscina's move(), is taken out of its wrapper.
 */
async function cleanHere(task: CleanTask, name: string | undefined): Promise<CleanResult> {
  const worker: Record<string, (task: never) => unknown> = await import('./clean-worker.js');
  const answer = (await worker[name ?? 'default'](task as never)) as Record<symbol, unknown> | undefined;
  return (answer?.[valueSymbol] ?? answer) as CleanResult;
}

/**
 * A pool of `threads` cleaning threads; a task is one object, or (named cleanBlock) one block of
 * one. With large `rules` and more than one thread, this thread explains the workers' rejects
 * (explain-desk.ts says why); small rules compile in a few milliseconds, and a reject's trip
 * between threads would cost more than explaining it where it is.
 *
 * For a local source (`local`) with small rules, this thread is one of the `threads`, and the pool
 * starts one worker fewer: this thread has little else to do then (no downloads, no desk), and it
 * has loaded the program and ajv already, where each worker boots, loads and compiles on its own.
 * Alternating builds on the Xeon VM (--threads 2, 5 rounds each): the nested rules' 201 MB 3.82 s /
 * 6.37 CPU-s against 4.15 s / 6.99 with two workers, the built-in rules' 401 MB 4.87 s / 8.00
 * against 5.07 s / 8.48. With one thread, no worker starts (6.01 s / 6.17 CPU-s against 6.42 /
 * 6.71, built-in rules, 3 rounds). An S3 run's downloads go through this thread: there it cleans
 * nothing but small objects, as before (a trial with a main lane there too, 20 objects of 5 MB from
 * s3rver on loopback, 4 alternating rounds: 4.92 s against 4.70 s without it).
 */
export function openCleanPool(threads: number, rules?: RulesSpec, local = false): CleanPool {
  const desk = rules !== undefined && threads > 1 && rules.schemaText.length > LARGE_RULES ? explainDesk(rules) : undefined;
  return new CleanPool(threads, desk, local && desk === undefined);
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
export function openCleanPoolWarming(threads: number, rules: RulesSpec, warm = threads, local = false): CleanPool {
  const pool = openCleanPool(threads, rules, local);
  pool.warm(rules, Math.min(warm, pool.maxThreads));
  return pool;
}
