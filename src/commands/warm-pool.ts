/**
 * The clean pool `cleaner run` starts before anything else: its threads boot and compile the rules
 * while the main thread loads the rest of the program and plans the run. Kept apart from run.ts,
 * and light in what it imports, so the threads start before run.ts and what it brings are loaded:
 * about 0.1 s sooner, on a local run of 400 MB that takes about 2 s.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { resolveSource } from '../config.js';
import type { Settings } from '../settings.js';
import { openCleanPoolWarming, type CleanPool } from '../stages/clean-pool.js';
import { DEFAULT_RULES_TEXT } from '../validate/default-schema.js';
import { LARGE_RULES } from '../validate/rules-size.js';

/**
 * A clean pool whose threads compile the rules while planRun checks them on this thread
 * (clean-pool.ts says why), for large rules (the check takes a second on GitHub's 600 KB webhook
 * schema) and for local sources (every object goes to the pool, so its threads may as well boot
 * while this thread plans and lists). Not for other S3 runs of small rules: their small objects
 * are cleaned on this thread, and a run with nothing to clean should start no thread. Undefined
 * when the source or the rules file is one planRun refuses: it says why.
 */
export function warmPoolFor(settings: Settings): CleanPool | undefined {
  if (settings.threads < 2) return undefined;
  let local: boolean;
  let schemaText = DEFAULT_RULES_TEXT;
  try {
    local = resolveSource(settings).kind === 'local';
    if (!local && settings.schema === undefined) return undefined;
    if (settings.schema !== undefined) schemaText = readFileSync(settings.schema, 'utf8');
  } catch {
    // A source or rules file planRun refuses, with its reason.
    return undefined;
  }
  if (schemaText.length <= LARGE_RULES && !local) return undefined;
  const spec = { schemaText, schemaOrigin: settings.schema === undefined ? 'default' : resolve(settings.schema), maxErrorsPerLine: settings.maxErrorsPerLine };
  // Small rules warm one thread: compiling them takes a tenth of a second, and a local run may have
  // one task at a time to give (a few files, one file of less than clean-ranged.ts's split size),
  // where a second thread booted for nothing cost 0.3-0.4 CPU-s; the others start as tasks wait.
  // Large rules warm every thread, since their compile is what starting early hides.
  return openCleanPoolWarming(settings.threads, spec, schemaText.length <= LARGE_RULES ? 1 : settings.threads);
}
