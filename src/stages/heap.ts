/**
 * Keeps a cleaning thread's heap from growing with the input. V8 collects its old generation only
 * once it reaches a limit sized for the machine's memory (a hundred MB or more here), and a
 * thread that cleans for minutes promotes a little garbage all the while (reject records, parsed
 * rejected lines, task messages): on the bench, a 5 GB file took each thread's old generation from
 * about 13 MB to 30 MB and the process from 160 MB to 213 MB RSS. A full collection after every
 * 64 MB of input keeps it flat, for a few ms each (under 1% of the time).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Returns a counter that runs a collection of `type` after every `everyBytes` it is told of. A
 * minor collection is enough for socket chunks: they die young, but V8 only collects for their
 * backing memory once some 64 MB of it are outstanding (the main thread's RSS grew by that much
 * while downloading).
 */
export function collectEvery(everyBytes: number, type: 'major' | 'minor'): (bytes: number) => void {
  let since = 0;
  return (bytes) => {
    since += bytes;
    if (since < everyBytes) return;
    since = 0;
    if (collect === undefined) collect = gcFunction();
    // gc() with no options is V8's precise full collection; { type: 'major' } is a lighter one that
    // left the 1 GB single-file bench at 157 MB peak RSS instead of 143 MB.
    if (type === 'major') collect?.();
    else collect?.({ type });
  };
}

let collect: ((opts?: { type: 'major' | 'minor' }) => void) | null | undefined;

/** Counts `bytes` of input cleaned by this thread, and collects garbage every 64 MB. */
export const noteBytesCleaned = collectEvery(64 << 20, 'major');

/** V8's gc(), without --expose-gc on the command line: a context made after setting the flag has it. */
function gcFunction(): ((opts?: { type: 'major' | 'minor' }) => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as (opts?: { type: 'major' | 'minor' }) => void) : null;
  } catch {
    return null;
  }
}
