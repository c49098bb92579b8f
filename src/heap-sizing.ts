/**
 * Sizes V8's heaps for memory rather than speed (--optimize-for-size), once per process. Why: V8
 * lets the old generation fill with garbage to several times what is live before collecting it:
 * over 6,000 tiny objects a run's main thread peaked at 82 MB of heap with 16 MB live (RSS 185 MB);
 * sized for memory, 41 MB (RSS 131 MB) for the same CPU time (two 50 MB files: CPU +3 %). Set after
 * start, it governs how the heaps grow from then on; `node --optimize-for-size bin/cleaner.js` or
 * `node --no-optimize-for-size bin/cleaner.js` decides instead (NODE_OPTIONS does not take it).
 *
 * Not while a run checks its rules (commands/run.ts sets it after): ajv compiling a large schema
 * allocates a great deal that dies young, and sized for memory the main thread spent 642 ms of the
 * 1,783 of checking GitHub's 600 KB webhook schema collecting garbage, against 121 ms of 1,559
 * without (node --cpu-prof, the check alone); every clean thread waits for that check.
 * Not for `cleaner load` at all: it streams rows through a small live heap, and the smaller young
 * generation this flag brings cost it 30 % more CPU in collections (295 scavenges instead of 40).
 */
import { setFlagsFromString } from 'node:v8';

let sized = false;

export function sizeHeapsForMemory(): void {
  if (sized) return;
  sized = true;
  if (process.execArgv.some((a) => a.includes('optimize-for-size'))) return;
  setFlagsFromString('--optimize-for-size');
}
