/**
 * The clean pool `cleaner run` starts before anything else: its threads boot and compile the rules
 * while the main thread loads the rest of the program and plans the run. Kept apart from run.ts,
 * and light in what it imports, so the threads start before run.ts and what it brings are loaded:
 * about 0.1 s sooner, on a local run of 400 MB that takes about 2 s.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { resolveSource, type SourceSpec } from '../config.js';
import type { Settings } from '../settings.js';
import { openCleanPoolWarming, type CleanPool } from '../stages/clean-pool.js';
import { DEFAULT_RULES_TEXT } from '../validate/default-schema.js';
import { LARGE_RULES } from '../validate/rules-size.js';
import { SMALL_BYTES } from '../stages/small-size.js';

/**
 * A clean pool whose threads compile the rules while planRun checks them on this thread
 * (clean-pool.ts says why): every thread for large rules (the check takes a second on GitHub's
 * 600 KB webhook schema), one for a local source of small rules that has a file too large for the
 * small path (small-batch.ts), which would otherwise wait for a thread to boot. Not otherwise: small
 * objects and files are cleaned on this thread, and a run with nothing for a thread should start
 * none (a run of one small local file took 0.63 CPU-s without one, 1.00 with it). Undefined too
 * when the source or the rules file is one planRun refuses: it says why.
 */
export function warmPoolFor(settings: Settings): CleanPool | undefined {
  if (settings.threads < 2) return undefined;
  let source: SourceSpec;
  let schemaText = DEFAULT_RULES_TEXT;
  try {
    source = resolveSource(settings);
    if (source.kind !== 'local' && settings.schema === undefined) return undefined;
    if (settings.schema !== undefined) schemaText = readFileSync(settings.schema, 'utf8');
  } catch {
    // A source or rules file planRun refuses, with its reason.
    return undefined;
  }
  const large = schemaText.length > LARGE_RULES;
  if (!large && (source.kind !== 'local' || !hasLargeFile(source.path))) return undefined;
  const spec = { schemaText, schemaOrigin: settings.schema === undefined ? 'default' : resolve(settings.schema), maxErrorsPerLine: settings.maxErrorsPerLine };
  // Small rules compile in a tenth of a second: one thread warms, the others start as tasks wait
  // for them (a file under clean-ranged.ts's split size is one task, for one thread).
  return openCleanPoolWarming(settings.threads, spec, large ? settings.threads : 1, source.kind === 'local');
}

/** Files of a directory's top level looked at, at most, for hasLargeFile. */
const PEEK_FILES = 16;

/**
 * Whether the local source at `path` is a file too large for the small path, or a directory with
 * one among the first PEEK_FILES files of its top level: a glance, not a listing (the manifest
 * lists). A tree whose files all sit in subfolders is not warmed for; its first thread boots
 * when its first large file is handed over.
 */
function hasLargeFile(path: string): boolean {
  try {
    const st = statSync(path);
    if (st.isFile()) return st.size > SMALL_BYTES;
    let looked = 0;
    for (const e of readdirSync(path, { withFileTypes: true })) {
      if (!e.isFile()) continue;
      if (statSync(join(path, e.name)).size > SMALL_BYTES) return true;
      if (++looked === PEEK_FILES) break;
    }
  } catch {
    // The listing meets it and says what is wrong.
  }
  return false;
}
