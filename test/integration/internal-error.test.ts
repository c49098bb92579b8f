/**
 * A state transition that changes no row is a bug or a race, not something the user did: the real
 * CLI reports it as an internal error (exit code 1, "please report it"), not as a user error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode } from '../../src/errors.js';
import { openState } from '../../src/state/db.js';
import { createRun, finishRun } from '../../src/state/queries.js';
import { runCli } from '../helpers/cli.js';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleaner-internal-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('a state transition that changes no row ends the command as an internal error, with the stack behind DEBUG=1', async () => {
  const state = join(dir, 'state.db');
  const db = openState(state);
  const runId = createRun(db, {
    target: `local:${dir}`, kind: 'local', source: dir, bucket: null, prefix: null, endpoint: null, region: null,
    localDir: join(dir, 'local'), schemaOrigin: 'default', schemaText: '{}', schemaHash: 'h', options: {},
  });
  finishRun(db, runId, 'interrupted', ExitCode.interrupted, 'interrupted by SIGINT');
  // The race, staged: something else keeps the run from being reopened, so resume's update changes no row.
  db.exec('CREATE TRIGGER keep_runs BEFORE UPDATE ON runs BEGIN SELECT RAISE(IGNORE); END');
  db.close();

  const r = await runCli(['resume', '--state', state]);
  assert.equal(r.code, ExitCode.internal, r.stderr);
  assert.match(r.stderr, /cleaner: internal error: state transition failed: reopen run 1/);
  assert.match(r.stderr, /set DEBUG=1 for the stack trace; please report it/);
  assert.doesNotMatch(r.stderr, /cleaner: error:/);

  const debug = await runCli(['resume', '--state', state], { env: { DEBUG: '1' } });
  assert.equal(debug.code, ExitCode.internal);
  assert.match(debug.stderr, /StateTransitionError: state transition failed[\s\S]*\n\s+at /);
});
