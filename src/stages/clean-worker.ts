/** The worker-thread entry for the clean pool: a task is one object, or (named cleanBlock) one block of a large object. */
import { cleanFile, rulesFor, type RulesSpec } from './clean-file.js';
import type { BlockResult, BlockTask } from './clean-block.js';

/** Compiles a run's rules, fast path included, before its first task (clean-pool.ts's openCleanPoolWarming). */
export function warmRules(task: RulesSpec): void {
  void rulesFor(task).fastCheck;
}

/**
 * One block of a large object. Its module is loaded with the first block: it brings piscina's main
 * entry (for transfers), about 10 ms of CPU per worker that most runs (objects under the split
 * size) never need.
 */
export async function cleanBlock(task: BlockTask): Promise<BlockResult> {
  return (await import('./clean-block.js')).cleanBlock(task);
}

export default cleanFile;
