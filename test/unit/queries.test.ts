/**
 * src/state/queries.ts against a real SQLite file: every transition names the state it moves from
 * and throws StateTransitionError from any other; a checkpoint records everything needed to resume;
 * a run is created, finished, reopened and superseded as `run` and `resume` rely on.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateTransitionError } from '../../src/errors.js';
import Database from 'better-sqlite3';
import { openState, peekState, type Db } from '../../src/state/db.js';
import {
  MAX_ATTEMPTS,
  checkedRulesWarnings,
  recordCheckedRules,
  commitCheckpoint,
  createRun,
  findObject,
  finishDownload,
  finishRun,
  getObject,
  getRun,
  latestUnfinishedRun,
  listRuns,
  markDone,
  markFailed,
  markGone,
  markListed,
  markPublishing,
  markQuarantined,
  objectsInStates,
  recordDownloadProgress,
  recordListed,
  reopenRun,
  restartDownload,
  runObjects,
  setObjectSize,
  setRunGate,
  startClean,
  startDownload,
  supersedeUnfinished,
  type Checkpoint,
  type ListedObject,
  type ObjectStateName,
  type RunParams,
} from '../../src/state/queries.js';

/** Every object state, once: the compiler rejects a missing or an unknown one. */
const ALL_STATES_SET: Record<ObjectStateName, true> = {
  listed: true,
  downloading: true,
  downloaded: true,
  cleaning: true,
  publishing: true,
  done: true,
  failed: true,
  gone: true,
};
const ALL_STATES = Object.keys(ALL_STATES_SET) as ObjectStateName[];

const TARGET = 'local:/src -> /local';
const HASH = 'rules-1';

let dir: string;
let db: Db;
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'cleaner-queries-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  db?.close();
  db = openState(join(dir, `state-${++n}.db`));
});

function params(over: Partial<RunParams> = {}): RunParams {
  return {
    target: TARGET,
    kind: 'local',
    source: '/src',
    bucket: null,
    prefix: null,
    endpoint: null,
    region: null,
    localDir: '/local',
    schemaOrigin: 'default',
    schemaText: '{}',
    schemaHash: HASH,
    options: { concurrency: 2 },
    ...over,
  };
}

function listed(key: string, etag = 'e1', size = 100): ListedObject {
  return { key, relPath: key, etag, size, gz: false };
}

/** A run with one listed object, returning both ids. */
function runWithObject(key = 'a.jsonl'): { runId: number; id: number } {
  const runId = createRun(db, params());
  recordListed(db, runId, TARGET, HASH, listed(key), 'listed', () => false);
  return { runId, id: findObject(db, TARGET, key)!.id };
}

/** Puts the object in `state` directly, as a crash at that point would leave it. */
function force(id: number, state: ObjectStateName): void {
  db.prepare('UPDATE objects SET state = ? WHERE id = ?').run(state, id);
}

function checkpoint(offset: number, over: Partial<Checkpoint> = {}): Checkpoint {
  return { offset, outLen: offset - 10, errLen: 10, lines: 5, valid: 4, rejected: 1, blank: 0, byReason: { schema: 1 }, byRule: {}, ...over };
}

describe('object states', () => {
  test('the states the code names are exactly those the schema allows', () => {
    const { sql } = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'objects'").get() as { sql: string };
    const check = /state\s+TEXT\s+NOT NULL CHECK \(state IN\s*\(([^)]*)\)\)/.exec(sql);
    assert.ok(check, 'the objects table has a CHECK on state');
    const inSchema = check[1].split(',').map((s) => s.trim().replace(/^'|'$/g, ''));
    assert.deepEqual([...inSchema].sort(), [...ALL_STATES].sort());
  });
});

describe('every object transition names its prior state, and any other prior state throws', () => {
  const cp = checkpoint(50);
  const transitions: Array<{ name: string; from: ObjectStateName[]; to: ObjectStateName | null; apply: (runId: number, id: number) => void }> = [
    { name: 'startDownload', from: ['listed', 'downloading'], to: 'downloading', apply: (_r, id) => startDownload(db, id) },
    { name: 'recordDownloadProgress', from: ['downloading'], to: null, apply: (_r, id) => recordDownloadProgress(db, id, 10) },
    { name: 'restartDownload', from: ['downloading'], to: 'downloading', apply: (_r, id) => restartDownload(db, id, 'e2', 200) },
    { name: 'finishDownload', from: ['downloading'], to: 'downloaded', apply: (_r, id) => finishDownload(db, id, 100, 5) },
    { name: 'startClean', from: ['downloaded', 'cleaning'], to: 'cleaning', apply: (_r, id) => startClean(db, id, HASH) },
    { name: 'commitCheckpoint', from: ['cleaning'], to: null, apply: (_r, id) => commitCheckpoint(db, id, cp, 1) },
    { name: 'markPublishing', from: ['cleaning'], to: 'publishing', apply: (_r, id) => markPublishing(db, id, cp, 1) },
    { name: 'markDone', from: ['publishing'], to: 'done', apply: (r, id) => markDone(db, r, id) },
    { name: 'markFailed', from: ['listed', 'downloading', 'downloaded', 'cleaning', 'publishing'], to: 'failed', apply: (r, id) => markFailed(db, r, id, 'boom') },
    { name: 'markGone', from: ['listed', 'downloading', 'downloaded', 'cleaning', 'publishing', 'failed'], to: 'gone', apply: (r, id) => markGone(db, r, id) },
  ];
  for (const t of transitions) {
    test(`${t.name}: from ${t.from.join(' or ')}${t.to ? ` to ${t.to}` : ''}; from any other state it throws and changes nothing`, () => {
      for (const prior of ALL_STATES) {
        const { runId, id } = runWithObject(`${t.name}-${prior}.jsonl`);
        force(id, prior);
        const before = getObject(db, id);
        if (t.from.includes(prior)) {
          t.apply(runId, id);
          assert.equal(getObject(db, id).state, t.to ?? prior, `${t.name} from ${prior}`);
        } else {
          assert.throws(() => t.apply(runId, id), StateTransitionError, `${t.name} from ${prior}`);
          assert.deepEqual(getObject(db, id), before, `${t.name} from ${prior} left the row as it was`);
        }
      }
    });
  }

  test('a transition of an object that does not exist throws', () => {
    assert.throws(() => startDownload(db, 999), StateTransitionError);
    assert.throws(() => setObjectSize(db, 999, 1), StateTransitionError);
    assert.throws(() => getObject(db, 999), StateTransitionError);
  });

  test('markFailed counts the attempt; markDone clears attempts and error and records what was cleaned', () => {
    const { runId, id } = runWithObject();
    force(id, 'downloading');
    markFailed(db, runId, id, 'boom');
    assert.equal(getObject(db, id).attempts, 1);
    assert.equal(getObject(db, id).error, 'boom');
    force(id, 'cleaning');
    startClean(db, id, HASH);
    markPublishing(db, id, checkpoint(100), 1);
    markDone(db, runId, id);
    const done = getObject(db, id);
    assert.equal(done.attempts, 0);
    assert.equal(done.error, null);
    assert.equal(done.done_etag, 'e1');
    assert.equal(done.done_schema_hash, HASH);
  });

  test('restartDownload takes the new version and forgets the bytes of the old one', () => {
    const { id } = runWithObject();
    startDownload(db, id);
    recordDownloadProgress(db, id, 60);
    restartDownload(db, id, 'e2', 300);
    const row = getObject(db, id);
    assert.deepEqual([row.etag, row.size, row.downloaded_bytes, row.state], ['e2', 300, 0, 'downloading']);
  });
});

describe('checkpoints', () => {
  test('a checkpoint records the input offset, the output lengths and the counters, and adds up clean time', () => {
    const { id } = runWithObject();
    force(id, 'downloaded');
    startClean(db, id, HASH);
    commitCheckpoint(db, id, checkpoint(40, { byRule: { '/id required': { count: 1, examples: [{ line: 3, offset: 20 }] } } }), 7);
    commitCheckpoint(db, id, checkpoint(80, { lines: 9, valid: 7, rejected: 1, blank: 1 }), 5);
    const row = getObject(db, id);
    assert.deepEqual(
      [row.clean_offset, row.input_bytes, row.out_len, row.err_len, row.lines, row.valid, row.rejected, row.blank, row.clean_ms],
      [80, 80, 70, 10, 9, 7, 1, 1, 12],
    );
    assert.deepEqual(JSON.parse(row.by_reason), { schema: 1 });
    assert.equal(row.clean_schema_hash, HASH);
  });

  test('markPublishing commits the final checkpoint and the publishing mark together', () => {
    const { id } = runWithObject();
    force(id, 'cleaning');
    markPublishing(db, id, checkpoint(100), 3);
    const row = getObject(db, id);
    assert.deepEqual([row.state, row.clean_offset, row.out_len], ['publishing', 100, 90]);
  });

  test("a run's figures are live while an object is in flight, and frozen when it finishes", () => {
    const { runId, id } = runWithObject();
    force(id, 'cleaning');
    commitCheckpoint(db, id, checkpoint(50), 1);
    assert.equal(runObjects(db, runId)[0].lines, 5);
    markPublishing(db, id, checkpoint(100, { lines: 10, valid: 9 }), 1);
    markDone(db, runId, id);
    // A later run cleans a new version of the object from scratch: the old run keeps its figures.
    const later = createRun(db, params());
    assert.equal(recordListed(db, later, TARGET, HASH, listed('a.jsonl', 'e2'), 'listed', () => false), 'changed');
    assert.equal(getObject(db, id).lines, 0);
    const frozen = runObjects(db, runId)[0];
    assert.deepEqual([frozen.outcome, frozen.lines, frozen.valid], ['done', 10, 9]);
  });
});

describe('listing', () => {
  test('an object is unchanged once done, schema_changed under other rules, retried until its last attempt, and changed with a new version', () => {
    const { runId, id } = runWithObject();
    force(id, 'publishing');
    db.prepare('UPDATE objects SET clean_schema_hash = ? WHERE id = ?').run(HASH, id);
    markDone(db, runId, id);
    const again = () => recordListed(db, createRun(db, params()), TARGET, HASH, listed('a.jsonl'), 'listed', () => false);
    assert.equal(again(), 'unchanged');
    assert.equal(recordListed(db, createRun(db, params()), TARGET, 'rules-2', listed('a.jsonl'), 'listed', () => true), 'schema_changed');
    assert.equal(getObject(db, id).state, 'downloaded', 'an input still complete on disk is not downloaded again');
    assert.equal(again(), 'unfinished');
    for (let i = 1; i <= MAX_ATTEMPTS; i++) {
      markFailed(db, getObject(db, id).last_run_id!, id, `attempt ${i}`);
      assert.equal(getObject(db, id).attempts, i);
      assert.equal(again(), i < MAX_ATTEMPTS ? 'retry' : 'failed_before');
    }
    assert.equal(recordListed(db, createRun(db, params()), TARGET, HASH, listed('a.jsonl', 'e2'), 'listed', () => false), 'changed');
    assert.equal(getObject(db, id).attempts, 0, 'a new version starts its attempts over');
  });

  test('objectsInStates returns only the objects this run still has to process, in key order', () => {
    const runId = createRun(db, params());
    for (const k of ['c', 'a', 'b']) recordListed(db, runId, TARGET, HASH, listed(k), 'listed', () => false);
    markFailed(db, runId, findObject(db, TARGET, 'b')!.id, 'boom');
    assert.deepEqual(objectsInStates(db, runId, ['listed']).map((o) => o.key), ['a', 'c']);
    assert.deepEqual(objectsInStates(db, runId, ['downloaded']), []);
  });
});

describe('the run lifecycle', () => {
  test('a run is created running, finished, reopened by resume, and finished again', () => {
    const id = createRun(db, params());
    assert.equal(getRun(db, id)?.state, 'running');
    assert.deepEqual(JSON.parse(getRun(db, id)!.options), { concurrency: 2 });
    markListed(db, id);
    assert.equal(getRun(db, id)?.listed, 1);
    finishRun(db, id, 'interrupted', 130, 'interrupted by SIGINT');
    assert.equal(latestUnfinishedRun(db)?.id, id);
    reopenRun(db, id);
    const reopened = getRun(db, id)!;
    assert.deepEqual([reopened.state, reopened.finished_at, reopened.exit_code, reopened.message], ['running', null, null, null]);
    finishRun(db, id, 'done', 0, 'finished');
    assert.equal(latestUnfinishedRun(db), undefined);
    assert.deepEqual([getRun(db, id)?.state, getRun(db, id)?.exit_code], ['done', 0]);
  });

  test('a done run cannot be reopened', () => {
    const id = createRun(db, params());
    finishRun(db, id, 'done', 0, null);
    assert.throws(() => reopenRun(db, id), StateTransitionError);
    assert.equal(getRun(db, id)?.state, 'done');
  });

  test('finishing, listing or gating a run that does not exist throws', () => {
    assert.throws(() => finishRun(db, 42, 'done', 0, null), StateTransitionError);
    assert.throws(() => markListed(db, 42), StateTransitionError);
    assert.throws(() => setRunGate(db, 42, {}), StateTransitionError);
  });

  test('a new run supersedes the running runs of its target only', () => {
    const old = createRun(db, params());
    const other = createRun(db, params({ target: 'elsewhere' }));
    const done = createRun(db, params());
    finishRun(db, done, 'done', 0, null);
    const current = createRun(db, params());
    supersedeUnfinished(db, TARGET, current);
    assert.equal(getRun(db, old)?.state, 'interrupted');
    assert.equal(getRun(db, old)?.message, `superseded by run ${current}`);
    assert.equal(getRun(db, other)?.state, 'running');
    assert.equal(getRun(db, done)?.state, 'done');
    assert.equal(getRun(db, current)?.state, 'running');
    assert.deepEqual(listRuns(db).map((r) => r.id), [current, done, other, old]);
    supersedeUnfinished(db, TARGET, current);
  });

  test('getRun without an id is the latest run', () => {
    assert.equal(getRun(db), undefined);
    createRun(db, params());
    const second = createRun(db, params());
    assert.equal(getRun(db)?.id, second);
  });

  test('markQuarantined sets the flag on the object and on its row for the run; an object outside the run throws', () => {
    const { runId, id } = runWithObject();
    markQuarantined(db, runId, id);
    assert.equal(getObject(db, id).quarantined, 1);
    assert.equal(runObjects(db, runId)[0].quarantined, 1);
    markQuarantined(db, runId, id);
    const other = createRun(db, params());
    assert.throws(() => markQuarantined(db, other, id), StateTransitionError);
  });

  test('a check of rules is found again by their hash and the program that checked them, with its warnings', () => {
    const checker = 'cleaner 1.0.0; ajv 8.20.0';
    assert.equal(checkedRulesWarnings(db, HASH, checker), undefined);
    recordCheckedRules(db, HASH, checker, ['strict mode: unknown keyword: "x-owner"']);
    // Recorded twice (a rerun that checked again): the first stands, nothing throws.
    recordCheckedRules(db, HASH, checker, []);
    assert.deepEqual(checkedRulesWarnings(db, HASH, checker), ['strict mode: unknown keyword: "x-owner"']);
    assert.equal(checkedRulesWarnings(db, HASH, 'cleaner 1.0.1; ajv 8.20.0'), undefined, 'another program checks again');
    assert.equal(checkedRulesWarnings(db, 'rules-2', checker), undefined, 'other rules are checked');
    recordCheckedRules(db, 'rules-2', checker, []);
    assert.deepEqual(checkedRulesWarnings(db, 'rules-2', checker), []);
  });

  test('a state from before checked rules were kept, or none at all, holds no check', () => {
    const old = new Database(join(dir, 'old.db'));
    old.exec('CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    old.close();
    const peeked = peekState(join(dir, 'old.db'));
    assert.ok(peeked);
    try {
      assert.equal(checkedRulesWarnings(peeked, HASH, 'cleaner 1.0.0'), undefined);
    } finally {
      peeked.close();
    }
    assert.equal(peekState(join(dir, 'none.db')), undefined);
  });
});
