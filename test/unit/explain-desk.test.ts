/**
 * The explain desk (stages/explain-desk.ts): worker threads have their rejected lines parsed and
 * explained on the main thread, with the same rejection they would have written themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { openExplainDesk } from '../../src/stages/explain-desk.js';
import { compileRules } from '../../src/validate/schema.js';
import { rejectionOf } from '../../src/validate/classify.js';

const schemaText = JSON.stringify({
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    n: { type: 'integer', minimum: 0 },
    child: { $ref: '#' },
    kind: { oneOf: [{ const: 'a' }, { type: 'integer' }] },
  },
});

/**
 * Runs test/helpers/desk-worker.ts with `lines` against `link`, and returns what it posts last;
 * `asked` is called once its lines are on the desk.
 */
function askFromWorker(link: SharedArrayBuffer, lines: string[], rules: { hash: string; maxErrorsPerLine: number }, asked?: () => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // A worker thread of Node 20 does not inherit tsx's loader: it registers it, then loads the .ts entry.
    const entry = new URL('../helpers/desk-worker.ts', import.meta.url).href;
    const w = new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`, { eval: true, workerData: { link, lines, hash: rules.hash, maxErrorsPerLine: rules.maxErrorsPerLine } });
    w.on('message', (m) => {
      if (m === 'asked') return asked?.();
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('lines from several worker threads are answered on this thread exactly as each worker would answer them, failures to explain included', async () => {
  const rules = compileRules('t', schemaText, { checked: true, maxErrorsPerLine: 3 });
  const desk = openExplainDesk({ schemaText, maxErrorsPerLine: 3 }, async () => (line) => rejectionOf(line, rules));
  try {
    let deep = '{"id":"x"}';
    for (let i = 0; i < 20_000; i++) deep = `{"child":${deep}}`;
    const lines = [
      '{"n":-1}',
      '{"id":"not-a-uuid","n":1.5,"kind":"b","extra":{}}',
      '{"id":"5f0c7d1e-8a3b-4c2d-9e1f-0a1b2c3d4e5f","child":{"n":"x"}}',
      '{"id":7,"kind":[1]}',
      '{"id":"unterminated',
      '[1,2]',
      // Deep enough that explaining overflows the stack: a rejection that says so, as it would be here.
      deep,
    ];
    const expected = lines.map((l) => rejectionOf(Buffer.from(l), rules));
    assert.deepEqual(expected.map((r) => r?.reason), ['schema', 'schema', 'schema', 'schema', 'invalid_json', 'not_object', 'schema']);
    assert.match(expected[6]!.message, /could not be checked/);
    // Three workers at once, 21 lines out: more than there are slots.
    const answers = (await Promise.all([1, 2, 3].map(() => askFromWorker(desk.link, lines, rules)))) as unknown[][];
    let answeredThere = 0;
    for (const a of answers) {
      assert.equal(a.length, lines.length);
      a.forEach((answer, i) => {
        if (answer === 'not taken') return;
        answeredThere++;
        assert.deepEqual(answer, expected[i], lines[i].slice(0, 80));
      });
    }
    assert.ok(answeredThere >= 16, `${answeredThere} of 21 lines were answered on the desk`);
  } finally {
    desk.close();
  }
});

test('a worker running other rules, or other limits, does not use the desk', async () => {
  const desk = openExplainDesk({ schemaText, maxErrorsPerLine: 3 }, async () => assert.fail('nothing is asked'));
  try {
    const other = compileRules('t', JSON.stringify({ type: 'object' }), { checked: true, maxErrorsPerLine: 3 });
    assert.equal(await askFromWorker(desk.link, ['{}'], other), 'other rules');
    const same = compileRules('t', schemaText, { checked: true, maxErrorsPerLine: 10 });
    assert.equal(await askFromWorker(desk.link, ['{}'], same), 'other rules');
  } finally {
    desk.close();
  }
});

test('a line nobody takes is given back to its worker when the desk closes, and a closed desk takes none', async () => {
  const rules = compileRules('t', schemaText, { checked: true, maxErrorsPerLine: 3 });
  // Never loaded: this thread never answers.
  const desk = openExplainDesk({ schemaText, maxErrorsPerLine: 3 }, () => new Promise(() => {}));
  const answers = askFromWorker(desk.link, ['{"n":-1}'], rules, () => desk.close());
  assert.deepEqual(await answers, ['given back']);
  assert.deepEqual(await askFromWorker(desk.link, ['{"n":-1}'], rules), ['not taken']);
});

test('a line longer than a slot is left to its worker', async () => {
  const rules = compileRules('t', schemaText, { checked: true, maxErrorsPerLine: 3 });
  const desk = openExplainDesk({ schemaText, maxErrorsPerLine: 3 }, async () => (line) => rejectionOf(line, rules));
  try {
    const long = JSON.stringify({ n: -1, pad: 'x'.repeat(1 << 20) });
    assert.deepEqual(await askFromWorker(desk.link, [long, '{"n":-1}'], rules), ['not taken', JSON.parse(JSON.stringify(rejectionOf(Buffer.from('{"n":-1}'), rules)))]);
  } finally {
    desk.close();
  }
});
