/**
 * Cleans one block of a large plain object inside a worker thread, so several threads can share
 * one object (clean-ranged.ts writes the blocks' results in order). A block owns the lines that
 * start inside its byte range [start, end), wherever they end. It copies no kept line: it says
 * which byte ranges of the input are kept, and the writer copies them from the file (still in the
 * page cache), so no block's worth of output waits in memory. Line numbers in its results are
 * counted from the block's first line and renumbered by the writer.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { LineSplitter } from '../lines/splitter.js';
import { nextLineStart, readChunks } from '../lines/read-chunks.js';
import { MemorySink } from '../sinks/memory-sink.js';
import { LineCleaner, type LineCounts } from './clean-lines.js';
import { CHUNK_BYTES, redactorFor, rulesFor, type CleanTask } from './clean-file.js';
import { noteBytesCleaned } from './heap.js';
import { firstChunkBytes, letLoopTurn } from './event-loop.js';

/** One block of an object: what the coordinator sends a worker. */
export interface BlockTask {
  object: CleanTask;
  etag: string;
  /** Where the block's range starts; `startIsLine` when a line is known to start there (object start or checkpoint). */
  start: number;
  startIsLine: boolean;
  /** Lines starting at or after this offset belong to the next block. */
  end: number;
  /** Buffers of earlier results, handed back for reuse. */
  spare?: ArrayBuffer[];
  /**
   * While the object is still being downloaded: the names it may have (partial, then final), and
   * the bytes written so far. The block reads nothing past `limit`, and comes back `incomplete`
   * when its last line does not end before it.
   */
  paths?: string[];
  limit?: number;
}

/** Buffers handed back by the coordinator, largest last. */
const spares: Buffer[] = [];
/** Kept at most: the coordinator circulates a few per thread. */
const MAX_SPARES = 4;

function takeSpare(min: number): Buffer | undefined {
  const i = spares.findIndex((b) => b.length >= min);
  return i === -1 ? undefined : spares.splice(i, 1)[0];
}

/** What a worker sends back for a block. */
export interface BlockResult {
  /** Offset of the block's first line, and of the first line after the block (its resume point). */
  firstLine: number;
  endOffset: number;
  /** Counters of the block's lines; example line numbers are counted from the block's first line (1). */
  counts: LineCounts;
  /** The kept lines: absolute [start, end) byte ranges of the input, in order, as pairs. */
  kept: Float64Array;
  /** The reject records, in order; `recordStarts[i]` is where record i starts. */
  errs: Uint8Array;
  recordStarts: Int32Array;
  /** The block needs bytes past its task's `limit`: run it again with more. */
  incomplete?: boolean;
}

/** Cleans the lines of one block; throws on I/O errors (the coordinator decides what they mean). */
export async function cleanBlock(task: BlockTask): Promise<BlockResult> {
  const { object } = task;
  for (const ab of task.spare ?? []) if (spares.length < MAX_SPARES) spares.push(Buffer.from(ab));
  spares.sort((a, b) => a.length - b.length);
  const input = task.paths ?? object.inputPath;
  const found = task.startIsLine ? task.start : await nextLineStart(input, task.start - 1, task.limit);
  const incomplete = found === -1;
  const firstLine = incomplete ? task.start : found;
  const counts: LineCounts = { lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {}, byRule: {} };
  const span = Math.max(0, task.end - firstLine);
  const errBytes = Math.max(64 << 10, span >> 4);
  const errs = new MemorySink(errBytes, takeSpare(errBytes));
  const recordStarts: number[] = [];
  const kept: number[] = [];
  let endOffset = firstLine;
  let short = incomplete;
  if (!incomplete && firstLine < task.end) {
    const cleaner = new LineCleaner(counts, null, errs, {
      rules: rulesFor(object),
      redact: redactorFor(object),
      source: object.sourceName,
      etag: task.etag,
      maxLineBytes: object.maxLineBytes,
      beforeRecord: () => recordStarts.push(errs.length),
      keptRuns: kept,
    });
    const splitter = new LineSplitter(cleaner, { maxLineBytes: object.maxLineBytes, startOffset: firstLine, stopAt: task.end });
    try {
      for await (const chunk of readChunks(input, firstLine, CHUNK_BYTES, task.limit, firstChunkBytes(CHUNK_BYTES))) {
        splitter.push(chunk);
        cleaner.flush();
        if (splitter.stopped) break;
        await letLoopTurn();
      }
      if (!splitter.stopped) {
        if (task.limit !== undefined) short = true;
        else splitter.end();
      }
      // Every line placed, explanations from elsewhere included.
      cleaner.drain();
    } finally {
      cleaner.release();
    }
    endOffset = splitter.offset;
    noteBytesCleaned(endOffset - firstLine);
  }
  const result: BlockResult = short
    ? { firstLine, endOffset: firstLine, counts, kept: new Float64Array(0), errs: errs.bytes().subarray(0, 0), recordStarts: new Int32Array(0), incomplete: true }
    : { firstLine, endOffset, counts, kept: Float64Array.from(kept), errs: errs.bytes(), recordStarts: Int32Array.from(recordStarts) };
  // Hand the buffers over instead of copying them.
  return move({
    get [transferableSymbol]() {
      return [result.kept.buffer, result.errs.buffer, result.recordStarts.buffer];
    },
    get [valueSymbol]() {
      return result;
    },
  } as never) as unknown as BlockResult;
}
