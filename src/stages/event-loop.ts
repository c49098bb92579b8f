/**
 * How the main thread reads when it cleans (cleanFile, cleanBlock): small chunks first, and its
 * event loop turning after each chunk. A run's main lane (clean-pool.ts) cleans on the thread that
 * hands the workers their tasks and takes their results, and a chunk is cleaned without a turn: its
 * loop awaits reads that are usually done already, and a settled promise resumes it at once. The
 * first chunk runs cold (the fast path not yet optimized, the first rejects' explanations
 * compiled): with 1 MiB chunks a worker that had finished compiling the rules waited for it, in CPU
 * profiles of the nested rules' 201 MB run 135-377 ms with its task queued here, and this thread
 * then idled about as long at the end. Small chunks all along cost this thread about 8 % more CPU
 * (128 KiB, one thread, 6 alternating rounds): they are small only while the code is cold.
 */
import { isMainThread } from 'node:worker_threads';

/** The first read of an object on the main thread; each next one twice as large, up to the usual chunk. */
const MAIN_FIRST_CHUNK_BYTES = 64 << 10;

/** The first read of an object on this thread (readChunks' `firstBytes`), where a worker reads `chunkBytes` at once. */
export function firstChunkBytes(chunkBytes: number): number {
  return isMainThread ? Math.min(MAIN_FIRST_CHUNK_BYTES, chunkBytes) : chunkBytes;
}

/** Settles once the event loop has turned, on the main thread; at once on a worker, which has nothing waiting on it. */
export function letLoopTurn(): Promise<void> | undefined {
  return isMainThread ? new Promise((resolve) => setImmediate(resolve)) : undefined;
}
