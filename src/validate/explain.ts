/**
 * Explains a line the rules already rejected, briefly: a failed `oneOf`/`anyOf` is explained by the
 * one branch that came closest (a branch whose `const`/`enum` discriminator matched, else the one
 * with the fewest errors), not by every branch. The verdict is never decided here.
 *
 * Why: with `allErrors` every failing branch of every `oneOf` reports everything. On a published
 * event schema with a `oneOf` over hundreds of event types, one 10 KB line gave 2,301 errors (248 KB
 * of reject record), and explaining cost more than deciding.
 *
 * How: a copy of the schema in which each `oneOf`/`anyOf` becomes a keyword of ours. ajv compiles the
 * copy (with `allErrors`, lazily, on the first reject); our keyword decides each branch with a
 * fail-fast validator, then asks the `allErrors` validator of only the chosen branch for its errors.
 * Where the copy's explanation differs from the real one (it gives no annotations to
 * `unevaluated*`), or the copy cannot be compiled, the caller falls back to ajv's fail-fast errors.
 */
import type { Ajv, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import equalModule from 'ajv/dist/runtime/equal.js';

const equal = ((equalModule as any).default ?? equalModule) as (a: unknown, b: unknown) => boolean;

/** Our stand-ins for `oneOf` and `anyOf` in the copy. */
const ONE_OF = 'x-cleaner-oneOf';
const ANY_OF = 'x-cleaner-anyOf';
/** Values that are data, not subschemas: never rewritten. */
const DATA_KEYWORDS = new Set(['enum', 'const', 'default', 'examples']);
const ROOT_ID = 'https://cleaner.local/explain/root.json';

interface Branches {
  /** JSON pointer of this keyword's value in the copy. */
  at: string;
  branches: unknown[];
}

/** Errors in ajv's shape, for a rejected value. */
export type Explain = (data: unknown) => ErrorObject[];

/**
 * An explainer for `schema`. `make(allErrors)` returns a fresh ajv instance configured as the rules'
 * (draft, formats); `idKey` is the draft's id keyword ("$id", or "id" for draft-04).
 */
export function makeExplainer(schema: AnySchemaObject, make: (allErrors: boolean) => Ajv, idKey: string): Explain {
  const copy = rewrite(schema, '') as Record<string, unknown>;
  let rootId = typeof copy[idKey] === 'string' ? (copy[idKey] as string).replace(/#$/, '') : undefined;
  if (rootId === undefined) {
    rootId = ROOT_ID;
    copy[idKey] = rootId;
  }
  const decideAjv = make(false);
  const explainAjv = make(true);
  const branchValidator = (ajv: Ajv, at: string, i: number): ValidateFunction => {
    const v = ajv.getSchema(`${rootId}#${at}/branches/${i}`);
    if (!v) throw new Error(`explain: no subschema at ${at}/branches/${i}`);
    return v;
  };
  const discriminated = (branch: unknown, data: unknown): boolean => matchesDiscriminator(resolveLocal(copy, branch), data, copy);

  for (const [keyword, one] of [[ONE_OF, true], [ANY_OF, false]] as const) {
    // Deciding: the same answer as ajv's oneOf/anyOf, from fail-fast validators of each branch.
    decideAjv.addKeyword({
      keyword,
      schemaType: 'object',
      errors: false,
      validate: (sch: Branches, data: unknown) => {
        let passing = 0;
        for (let i = 0; i < sch.branches.length; i++) {
          if (branchValidator(decideAjv, sch.at, i)(data)) passing++;
          if (one ? passing > 1 : passing > 0) break;
        }
        return one ? passing === 1 : passing > 0;
      },
    });
    // Explaining: decide first; when the composition fails, the closest branch's errors only.
    const explainFn = (sch: Branches, data: unknown, _parent?: unknown, cxt?: { instancePath: string }): boolean => {
      const passing: number[] = [];
      for (let i = 0; i < sch.branches.length; i++) {
        if (branchValidator(decideAjv, sch.at, i)(data)) passing.push(i);
        if (one ? passing.length > 1 : passing.length > 0) break;
      }
      if (one ? passing.length === 1 : passing.length > 0) return true;
      const name = one ? 'oneOf' : 'anyOf';
      const prefix = cxt?.instancePath ?? '';
      if (passing.length > 1) {
        explainFn.errors = [{ keyword: name, instancePath: prefix, schemaPath: '', params: { passingSchemas: passing }, message: `must match exactly one schema in oneOf, but matches branches ${passing.join(' and ')}` }];
        return false;
      }
      let candidates = sch.branches.map((_, i) => i);
      const matched = candidates.filter((i) => discriminated(sch.branches[i], data));
      if (matched.length > 0) candidates = matched;
      let best = -1;
      let bestErrors: ErrorObject[] = [];
      for (const i of candidates) {
        const v = branchValidator(explainAjv, sch.at, i);
        v(data);
        const errs = v.errors ?? [];
        if (best < 0 || errs.length < bestErrors.length) {
          best = i;
          bestErrors = errs;
        }
        if (candidates.length === 1) break;
      }
      const label = branchLabel(copy, sch.branches[best], best);
      explainFn.errors = [
        ...bestErrors.map((e) => ({ ...e, instancePath: prefix + e.instancePath })),
        { keyword: name, instancePath: prefix, schemaPath: '', params: { closestBranch: best }, message: `must match ${one ? 'exactly one' : 'a'} schema in ${name}; closest: ${label}${matched.length > 0 ? ' (its discriminator matched)' : ''}` },
      ];
      return false;
    };
    explainFn.errors = [] as ErrorObject[];
    explainAjv.addKeyword({ keyword, schemaType: 'object', errors: true, validate: explainFn as any });
  }
  // Every subschema is reached by pointer into the copy, so the copy is registered, not compiled whole.
  decideAjv.addSchema(copy as AnySchemaObject);
  explainAjv.addSchema(copy as AnySchemaObject);
  const root = explainAjv.getSchema(rootId)!;
  return (data) => {
    root(data);
    return root.errors ?? [];
  };
}

/** The copy of a (sub)schema at `ptr` with `oneOf`/`anyOf` turned into our keywords. */
function rewrite(node: unknown, ptr: string): unknown {
  if (Array.isArray(node)) return node.map((v, i) => rewrite(v, `${ptr}/${i}`));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (DATA_KEYWORDS.has(k)) out[k] = v;
    else if ((k === 'oneOf' || k === 'anyOf') && Array.isArray(v)) {
      const at = `${ptr}/${k === 'oneOf' ? ONE_OF : ANY_OF}`;
      out[k === 'oneOf' ? ONE_OF : ANY_OF] = { at, branches: v.map((b, i) => rewrite(b, `${at}/branches/${i}`)) };
    } else out[k] = rewrite(v, `${ptr}/${encodeURIComponent(escapePointer(k))}`);
  }
  return out;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Follows local `$ref`s ("#/…") from `node` within `root`; anything else is returned as it is. */
function resolveLocal(root: unknown, node: unknown): unknown {
  for (let hops = 0; hops < 32; hops++) {
    if (node === null || typeof node !== 'object') return node;
    const ref = (node as Record<string, unknown>).$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
    let at: unknown = root;
    for (const part of ref.slice(2).split('/')) {
      const key = decodeURIComponent(part).replace(/~1/g, '/').replace(/~0/g, '~');
      if (at === null || typeof at !== 'object') return node;
      at = (at as Record<string, unknown>)[key];
    }
    node = at;
  }
  return node;
}

/** Whether `schema` names a property by `const`/`enum` (a discriminator), and `data` matches all it names. */
function matchesDiscriminator(schema: unknown, data: unknown, root: unknown): boolean {
  if (schema === null || typeof schema !== 'object' || data === null || typeof data !== 'object' || Array.isArray(data)) return false;
  const props = (schema as Record<string, unknown>).properties;
  if (props === null || typeof props !== 'object') return false;
  let named = 0;
  for (const [name, sub0] of Object.entries(props)) {
    const sub = resolveLocal(root, sub0);
    if (sub === null || typeof sub !== 'object') continue;
    const s = sub as Record<string, unknown>;
    if (!('const' in s) && !Array.isArray(s.enum)) continue;
    named++;
    if (!Object.hasOwn(data, name)) return false;
    const value = (data as Record<string, unknown>)[name];
    if ('const' in s ? !equal(s.const, value) : !(s.enum as unknown[]).some((m) => equal(m, value))) return false;
  }
  return named > 0;
}

/** How a branch is named in a message: its discriminator value, title or `$ref`, else its index. */
function branchLabel(root: unknown, branch: unknown, i: number): string {
  const parts: string[] = [`branch ${i}`];
  if (branch !== null && typeof branch === 'object' && typeof (branch as Record<string, unknown>).$ref === 'string') parts.push((branch as Record<string, unknown>).$ref as string);
  const s = resolveLocal(root, branch);
  if (s !== null && typeof s === 'object') {
    const o = s as Record<string, unknown>;
    if (typeof o.title === 'string') parts.push(JSON.stringify(o.title.slice(0, 60)));
    const props = o.properties;
    if (props !== null && typeof props === 'object') {
      for (const [name, sub0] of Object.entries(props)) {
        const sub = resolveLocal(root, sub0) as Record<string, unknown> | null;
        if (sub !== null && typeof sub === 'object' && 'const' in sub) {
          parts.push(`${name} = ${JSON.stringify(sub.const).slice(0, 60)}`);
          break;
        }
      }
    }
  }
  return parts.join(' ');
}
