/** Reads a published output file as numbered lines (without their "\n"), a chunk at a time. */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';

/** One line of an output file; `no` counts from 1. */
export interface NumberedLine {
  no: number;
  bytes: Buffer;
}

/**
 * The lines numbered `from` onwards (earlier ones are read but not yielded), a read chunk's worth
 * at a time: an async generator step costs a promise and a trip through the microtask queue, which
 * per line was a third of a load's CPU (and most of its garbage). A gzip object's outputs are gzip
 * (a member per written batch), so `gz` decompresses them first. The array is the caller's.
 */
export async function* readLineBatches(path: string, from = 1, gz = false): AsyncGenerator<NumberedLine[]> {
  let no = 0;
  let rest: Buffer | undefined;
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const bytes = gz ? file.pipe(createGunzip({ chunkSize: 1 << 20 })) : file;
  for await (const chunk of bytes as AsyncIterable<Buffer>) {
    const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
    const batch: NumberedLine[] = [];
    let start = 0;
    for (let nl = buf.indexOf(0x0a, start); nl >= 0; nl = buf.indexOf(0x0a, start)) {
      no++;
      if (no >= from) batch.push({ no, bytes: buf.subarray(start, nl) });
      start = nl + 1;
    }
    rest = start < buf.length ? buf.subarray(start) : undefined;
    if (batch.length > 0) yield batch;
  }
  if (rest && rest.length > 0 && ++no >= from) yield [{ no, bytes: rest }];
}

/** readLineBatches one line at a time, for readers whose own per-line cost dwarfs the step's. */
export async function* readLines(path: string, from = 1, gz = false): AsyncGenerator<NumberedLine> {
  for await (const batch of readLineBatches(path, from, gz)) yield* batch;
}
