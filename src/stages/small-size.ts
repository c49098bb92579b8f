/**
 * Objects of at most this many bytes take the small path (small-batch.ts): read whole into memory
 * (a GET, or a local file) and cleaned on the main thread, committed a group at a time. Its own
 * module so that commands/warm-pool.ts, which must load little, can read it.
 */
export const SMALL_BYTES = 256 << 10;
