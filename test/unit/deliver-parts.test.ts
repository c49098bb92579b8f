/** Part sizes of multipart deliveries: S3 takes at most 10,000 parts, each but the last 5 MiB or more. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partSizeFor } from '../../src/stages/deliver-file.js';

const MIB = 1 << 20;

test('files up to 8 MiB go up in one PUT, larger ones in parts of 8 MiB', () => {
  assert.equal(partSizeFor(0), 0);
  assert.equal(partSizeFor(8 * MIB), 0);
  assert.equal(partSizeFor(8 * MIB + 1), 8 * MIB);
  assert.equal(partSizeFor(50 * 1024 * MIB), 8 * MIB);
});

test('any object S3 can hold fits in 10,000 parts of whole MiB', () => {
  for (const size of [78 * 1024 * MIB + 1, 1024 ** 4, 5 * 1024 ** 4]) {
    const part = partSizeFor(size);
    assert.equal(part % MIB, 0);
    assert.ok(Math.ceil(size / part) <= 10_000, `${size} bytes in parts of ${part}`);
  }
});
