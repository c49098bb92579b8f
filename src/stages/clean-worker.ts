/** The worker-thread entry for the clean pool: a task is one object, or (named cleanBlock) one block of a large object. */
import { cleanFile, rulesFor } from './clean-file.js';
import type { WarmTask } from './clean-pool.js';
import type { BlockResult, BlockTask } from './clean-block.js';

/**
 * Compiles a run's rules, fast path included, before its first task (clean-pool.ts's
 * openCleanPoolWarming), then, with `explain`, what explaining rejects will need, until the run is
 * planned (at most WARM_EXPLAIN_MS: a thread past it only delays the run's first task).
 */
export function warmRules(task: WarmTask): void {
  const rules = rulesFor(task);
  void rules.fastCheck;
  const until = performance.now() + WARM_EXPLAIN_MS;
  if (task.explain) rules.warmExplain(() => Atomics.load(task.planned, 0) !== 0 || performance.now() >= until);
}
const WARM_EXPLAIN_MS = 2000;

/**
 * One block of a large object. Its module is loaded with the first block: it brings piscina's main
 * entry (for transfers), about 10 ms of CPU per worker that most runs (objects under the split
 * size) never need.
 */
export async function cleanBlock(task: BlockTask): Promise<BlockResult> {
  return (await import('./clean-block.js')).cleanBlock(task);
}

export default cleanFile;
