/**
 * A deliberately simple reference cleaner, written independently of the product's streaming
 * code: whole buffer in memory, split on "\n", JSON.parse, the rules' fast check. Tests compare
 * the product's output files with what this says.
 */
import { compileRules, loadRules, type Rules } from '../../src/validate/schema.js';

export interface Expected {
  output: Buffer;
  lines: number;
  valid: number;
  rejected: number;
  blank: number;
  byReason: Record<string, number>;
}

let defaultRules: Rules | undefined;

/** What a correct cleaner writes to output/ for `data`, and what it counts. */
export function expectedFor(data: Buffer, rules: Rules = (defaultRules ??= loadRules(undefined))): Expected {
  const e: Expected = { output: Buffer.alloc(0), lines: 0, valid: 0, rejected: 0, blank: 0, byReason: {} };
  const out: Buffer[] = [];
  let start = 0;
  if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) start = 3;
  const rej = (r: string) => {
    e.rejected++;
    e.byReason[r] = (e.byReason[r] ?? 0) + 1;
  };
  while (start < data.length) {
    let nl = data.indexOf(0x0a, start);
    const end = nl === -1 ? data.length : nl + 1;
    const full = data.subarray(start, end);
    let content = data.subarray(start, nl === -1 ? data.length : nl);
    if (content.length && content[content.length - 1] === 0x0d) content = content.subarray(0, content.length - 1);
    e.lines++;
    start = end;
    const text = content.toString('utf8');
    if (/^[ \t\r\v\f]*$/.test(text)) {
      e.blank++;
      continue;
    }
    if (!Buffer.from(text, 'utf8').equals(content)) {
      rej('invalid_utf8');
      continue;
    }
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      rej('invalid_json');
      continue;
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      rej('not_object');
      continue;
    }
    if (!rules.isValid(v)) {
      rej('schema');
      continue;
    }
    e.valid++;
    out.push(full);
  }
  e.output = Buffer.concat(out);
  return e;
}

export { compileRules, loadRules };
