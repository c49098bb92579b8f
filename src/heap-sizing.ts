/**
 * Sizes V8's heaps for memory rather than speed (--optimize-for-size), once per process. Why: V8
 * lets the old generation fill with garbage to several times what is live before collecting it:
 * over 6,000 tiny objects a run's main thread peaked at 82 MB of heap with 16 MB live (RSS 185 MB);
 * sized for memory, 41 MB (RSS 131 MB). Set after start, it governs how the heaps grow from then on;
 * `node --optimize-for-size bin/cleaner.js` or `node --no-optimize-for-size bin/cleaner.js` decides
 * instead (NODE_OPTIONS does not take it).
 *
 * A run (or resume) sizes them where its main thread's heap would grow (commands/drive.ts): in S3
 * runs, which list and clean small objects on that thread, and in runs of many objects (MANY_OBJECTS,
 * once listed). Sized for memory, every thread collects garbage more often, and local runs of a few
 * large objects, whose heaps stay small anyway, paid for it in time: 2-12 % in alternating runs in
 * several sittings on a 2-core Xeon VM. 400 MB in 4 objects under the built-in rules took 5.34 s
 * sized and 4.67 s not in one (user 8.77 and 7.62 s; 111 MB peak RSS either way), 5.28 and 5.17 s
 * in another; GitHub's webhook schema over 200 MB, 9.89 s sized and 9.24 s not (213 and 229 MB).
 * Checking that schema alone spent 642 ms of 1,783 collecting garbage sized, 121 ms of 1,559 not
 * (node --cpu-prof), and every clean thread waits for that check.
 * Not for `cleaner load` at all: it streams rows through a small live heap, and the smaller young
 * generation this flag brings cost it 30 % more CPU in collections (295 scavenges instead of 40).
 */
import { setFlagsFromString } from 'node:v8';

/** Objects listed from which a run sizes its heaps for memory: the thousands of the case above. */
const MANY_OBJECTS = 1000;

let sized = false;

export function sizeHeapsForMemory(): void {
  if (sized) return;
  sized = true;
  if (process.execArgv.some((a) => a.includes('optimize-for-size'))) return;
  setFlagsFromString('--optimize-for-size');
}

/** Sizes the heaps for memory when a run has `objects` objects to go through, many enough to need it. */
export function sizeHeapsFor(objects: number): void {
  if (objects >= MANY_OBJECTS) sizeHeapsForMemory();
}
