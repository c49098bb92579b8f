/**
 * readChunks over a real file: every byte from the start offset to the limit, once and in order,
 * in chunks of the asked size, or (the main thread's first reads, stages/event-loop.ts) small ones
 * first, doubling up to that size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readChunks } from '../../src/lines/read-chunks.js';

const KB = 1024;

/** Each chunk's length and a copy of all of them together (a chunk is only valid until the next is asked for). */
async function readAll(path: string, start: number, chunkBytes: number, limit?: number, firstBytes?: number): Promise<{ sizes: number[]; bytes: Buffer }> {
  const sizes: number[] = [];
  const parts: Buffer[] = [];
  for await (const chunk of readChunks(path, start, chunkBytes, limit, firstBytes)) {
    sizes.push(chunk.length);
    parts.push(Buffer.from(chunk));
  }
  return { sizes, bytes: Buffer.concat(parts) };
}

test('readChunks gives every byte once, in chunks that start small and double up to the chunk size', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'read-chunks-'));
  try {
    const path = join(dir, 'data');
    const data = randomBytes(3 * 1024 * KB + 123);
    writeFileSync(path, data);

    const plain = await readAll(path, 0, 1024 * KB);
    assert.deepEqual(plain.sizes, [1024 * KB, 1024 * KB, 1024 * KB, 123]);
    assert.ok(plain.bytes.equals(data));

    const ramped = await readAll(path, 0, 1024 * KB, undefined, 64 * KB);
    assert.deepEqual(ramped.sizes, [64 * KB, 128 * KB, 256 * KB, 512 * KB, 1024 * KB, 1024 * KB, 64 * KB + 123]);
    assert.ok(ramped.bytes.equals(data));

    // From an offset, up to a limit: the ramp stops at the limit as the plain reads do.
    const part = await readAll(path, 1000, 1024 * KB, 1000 + 300 * KB, 64 * KB);
    assert.deepEqual(part.sizes, [64 * KB, 128 * KB, 108 * KB]);
    assert.ok(part.bytes.equals(data.subarray(1000, 1000 + 300 * KB)));

    // A first read larger than the chunk size is the chunk size.
    const capped = await readAll(path, 0, 256 * KB, 600 * KB, 1024 * KB);
    assert.deepEqual(capped.sizes, [256 * KB, 256 * KB, 88 * KB]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
