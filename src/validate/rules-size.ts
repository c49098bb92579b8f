/**
 * Rules over this many bytes of text count as large (GitHub's webhook schema is 600 KB; the
 * built-in rules and the fixtures are 1-10 KB). Large rules take seconds and tens of MB to compile:
 * the probe (probe.ts) does not compile ajv just to time it against them, and a run starts its clean
 * threads compiling them while it plans (commands/warm-pool.ts).
 */
export const LARGE_RULES = 64 * 1024;
