/**
 * A worker thread for explain-desk.test.ts: puts its lines on the desk at `link`, all at once, says
 * so ('asked'), then collects the answers in order and posts them back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { explainerAt } from '../../src/stages/explain-desk.js';

const { link, hash, maxErrorsPerLine, lines } = workerData as { link: SharedArrayBuffer; hash: string; maxErrorsPerLine: number; lines: string[] };
const submit = explainerAt(link, { hash, maxErrorsPerLine });
if (submit === undefined) parentPort!.postMessage('other rules');
else {
  const pending = lines.map((l) => submit(Buffer.from(l)));
  parentPort!.postMessage('asked');
  const answers = pending.map((p) => (p === undefined ? 'not taken' : (p.collect() ?? 'given back')));
  parentPort!.postMessage(answers);
}
