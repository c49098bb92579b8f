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
 * Branch validators kept before the explainer starts afresh. A compiled branch of a large schema
 * costs tens of KB; a file whose lines touch every branch of a 600 KB schema would otherwise keep
 * all of them twice (deciding and explaining), per worker thread.
 */
export const MAX_CACHED_BRANCHES = 256;
/** Candidates tied for the best shape explained with `allErrors`, to keep the one with the fewest errors. */
const MAX_EXPLAINED_CANDIDATES = 3;
/** How deep the structural checks (cannotMatch, closeness) follow nested subschemas. */
const MAX_STRUCTURE_DEPTH = 6;

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
  // "#/…" means the root's pointer only while no subschema declares its own id: otherwise the
  // structural shortcuts below stay off (every branch is then decided by ajv).
  const structural = !hasNestedId(copy, idKey, true);
  const shape = new Shape(copy);
  let built = build(copy, rootId, make, structural ? shape : undefined);
  return (data) => {
    // Start afresh between lines once too many branches are compiled: memory stays bounded.
    if (built.compiled() > MAX_CACHED_BRANCHES) built = build(copy, rootId!, make, structural ? shape : undefined);
    return built.explain(data);
  };
}

/** The two ajv instances of an explainer and their lazily compiled branch validators. */
function build(copy: Record<string, unknown>, rootId: string, make: (allErrors: boolean) => Ajv, shape: Shape | undefined): { explain: Explain; compiled: () => number } {
  const decideAjv = make(false);
  const explainAjv = make(true);
  const cache = new Map<string, ValidateFunction>();
  const branchValidator = (ajv: Ajv, at: string, i: number): ValidateFunction => {
    const key = `${ajv === decideAjv ? 'd' : 'e'}${at}/branches/${i}`;
    let v = cache.get(key);
    if (v === undefined) {
      v = ajv.getSchema(`${rootId}#${at}/branches/${i}`);
      if (!v) throw new Error(`explain: no subschema at ${at}/branches/${i}`);
      cache.set(key, v);
    }
    return v;
  };
  /** The branches that pass, at most as many as settle the composition; branches that surely fail are not compiled. */
  const passingBranches = (sch: Branches, data: unknown, one: boolean): number[] => {
    const passing: number[] = [];
    for (let i = 0; i < sch.branches.length; i++) {
      if (shape?.cannotMatch(sch.branches[i], data, 0)) continue;
      if (branchValidator(decideAjv, sch.at, i)(data)) passing.push(i);
      if (one ? passing.length > 1 : passing.length > 0) break;
    }
    return passing;
  };

  for (const [keyword, one] of [[ONE_OF, true], [ANY_OF, false]] as const) {
    // Deciding: the same answer as ajv's oneOf/anyOf, from fail-fast validators of each branch.
    decideAjv.addKeyword({
      keyword,
      schemaType: 'object',
      errors: false,
      validate: (sch: Branches, data: unknown) => {
        const passing = passingBranches(sch, data, one).length;
        return one ? passing === 1 : passing > 0;
      },
    });
    // Explaining: decide first; when the composition fails, the closest branch's errors only.
    const explainFn = (sch: Branches, data: unknown, _parent?: unknown, cxt?: { instancePath: string }): boolean => {
      const passing = passingBranches(sch, data, one);
      if (one ? passing.length === 1 : passing.length > 0) return true;
      const name = one ? 'oneOf' : 'anyOf';
      const prefix = cxt?.instancePath ?? '';
      if (passing.length > 1) {
        explainFn.errors = [{ keyword: name, instancePath: prefix, schemaPath: '', params: { passingSchemas: passing }, message: `must match exactly one schema in oneOf, but matches branches ${passing.join(' and ')}` }];
        return false;
      }
      // The closest branches by shape (discriminator, required keys present), then the fewest errors
      // among the few best: explaining every branch with allErrors is what made a reject cost 170 ms.
      const matched = sch.branches.map((_, i) => i).filter((i) => discriminated(copy, sch.branches[i], data, 0));
      const pool = matched.length > 0 ? matched : sch.branches.map((_, i) => i);
      const scores = new Map(pool.map((i) => [i, shape ? shape.closeness(sch.branches[i], data, 0) : 0]));
      const ranked = [...pool].sort((x, y) => scores.get(y)! - scores.get(x)! || x - y);
      // One clear winner by shape is explained alone; a tie is settled by the fewest errors.
      const candidates = ranked.filter((i) => scores.get(i) === scores.get(ranked[0])).slice(0, MAX_EXPLAINED_CANDIDATES);
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
  return {
    explain: (data) => {
      root(data);
      return root.errors ?? [];
    },
    compiled: () => cache.size,
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

/** What resolveLocal found for a node of a copy (each node belongs to one copy, so to one root). */
const resolved = new WeakMap<object, unknown>();

/** Follows local `$ref`s ("#/…") from `node` within `root`; anything else is returned as it is. */
function resolveLocal(root: unknown, node: unknown): unknown {
  if (node === null || typeof node !== 'object') return node;
  // Asked for every branch of every oneOf on every reject: remembered, since splitting and decoding
  // pointers was the largest part of explaining a reject against GitHub's webhook schema.
  let found = resolved.get(node);
  if (found === undefined) {
    found = follow(root, node);
    resolved.set(node, found);
  }
  return found;
}

function follow(root: unknown, node: unknown): unknown {
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
  if (schema === null || typeof schema !== 'object' || !isPlainObject(data)) return false;
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
    const value = data[name];
    if ('const' in s ? !equal(s.const, value) : !(s.enum as unknown[]).some((m) => equal(m, value))) return false;
  }
  return named > 0;
}

/**
 * Whether a branch's discriminator matches `data`: its own, or one of its nested `oneOf`/`anyOf`
 * branches' (a schema of event types, each a `oneOf` over its actions, is discriminated one level down).
 */
function discriminated(root: unknown, branch: unknown, data: unknown, depth: number): boolean {
  const s = resolveLocal(root, branch);
  if (depth > MAX_STRUCTURE_DEPTH || s === null || typeof s !== 'object') return false;
  if (matchesDiscriminator(s, data, root)) return true;
  return subBranches(s).some((b) => discriminated(root, b, data, depth + 1));
}

/** The branches of a subschema's `oneOf`/`anyOf` (our keywords in the copy). */
function subBranches(s: object): unknown[] {
  const o = s as Record<string, unknown>;
  const out: unknown[] = [];
  for (const kw of [ONE_OF, ANY_OF]) {
    const b = o[kw] as Branches | undefined;
    if (b !== null && typeof b === 'object' && Array.isArray(b.branches)) out.push(...b.branches);
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether `data` has one of the JSON types `type` names (ajv's reading; an unknown name matches). */
function typeMatches(type: unknown, data: unknown): boolean {
  const one = (t: unknown): boolean => {
    switch (t) {
      case 'string': return typeof data === 'string';
      case 'number': return typeof data === 'number';
      case 'integer': return typeof data === 'number' && Number.isInteger(data);
      case 'boolean': return typeof data === 'boolean';
      case 'null': return data === null;
      case 'object': return isPlainObject(data);
      case 'array': return Array.isArray(data);
      default: return true;
    }
  };
  return Array.isArray(type) ? type.some(one) : one(type);
}

/** Whether some subschema below the root declares its own id (then "#/…" may not mean the root's pointer). */
function hasNestedId(node: unknown, idKey: string, isRoot: boolean): boolean {
  if (Array.isArray(node)) return node.some((v) => hasNestedId(v, idKey, false));
  if (node === null || typeof node !== 'object') return false;
  for (const [k, v] of Object.entries(node)) {
    if (k === idKey && !isRoot && typeof v === 'string') return true;
    if (!DATA_KEYWORDS.has(k) && hasNestedId(v, idKey, false)) return true;
  }
  return false;
}

/**
 * Certain, cheap facts about a value and a subschema of the copy, read without compiling anything:
 * they let a reject skip compiling branches that surely fail, and rank the rest.
 */
class Shape {
  constructor(private root: unknown) {}

  /**
   * True only when ajv surely rejects `data` against `schema`: a wrong type, `const` or `enum`, a
   * required key missing (also in a property's value, an `allOf` member, or every branch of a
   * `oneOf`/`anyOf`). False when unsure.
   */
  cannotMatch(schema: unknown, data: unknown, depth: number): boolean {
    if (depth > MAX_STRUCTURE_DEPTH) return false;
    const s = resolveLocal(this.root, schema);
    if (s === false) return true;
    if (!isPlainObject(s) || typeof s.$ref === 'string') return false;
    if (s.type !== undefined && !typeMatches(s.type, data)) return true;
    if ('const' in s && !equal(s.const, data)) return true;
    if (Array.isArray(s.enum) && !s.enum.some((m) => equal(m, data))) return true;
    if (isPlainObject(data)) {
      if (Array.isArray(s.required) && s.required.some((k) => typeof k === 'string' && !Object.hasOwn(data, k))) return true;
      if (isPlainObject(s.properties)) {
        for (const [k, sub] of Object.entries(s.properties)) if (Object.hasOwn(data, k) && this.cannotMatch(sub, data[k], depth + 1)) return true;
      }
    }
    if (Array.isArray(s.allOf) && s.allOf.some((m) => this.cannotMatch(m, data, depth + 1))) return true;
    for (const kw of [ONE_OF, ANY_OF]) {
      const b = s[kw] as Branches | undefined;
      if (isPlainObject(b) && Array.isArray(b.branches) && b.branches.every((m) => this.cannotMatch(m, data, depth + 1))) return true;
    }
    return false;
  }

  /**
   * How close `data` comes to `schema`, higher is closer: required keys present count for, missing
   * ones against; a `const`/`enum` property matched counts twice; a key a closed object does not
   * name counts against; a nested `oneOf`/`anyOf` adds its closest branch's score.
   */
  closeness(schema: unknown, data: unknown, depth: number): number {
    const s = resolveLocal(this.root, schema);
    if (depth > MAX_STRUCTURE_DEPTH || !isPlainObject(s)) return 0;
    if (s.type !== undefined && !typeMatches(s.type, data)) return -5;
    let score = 0;
    if (isPlainObject(data)) {
      if (Array.isArray(s.required)) for (const k of s.required) score += typeof k === 'string' && Object.hasOwn(data, k) ? 1 : -1;
      const props = isPlainObject(s.properties) ? s.properties : undefined;
      if (props) {
        for (const [k, sub0] of Object.entries(props)) {
          const sub = resolveLocal(this.root, sub0);
          if (!isPlainObject(sub) || !Object.hasOwn(data, k) || (!('const' in sub) && !Array.isArray(sub.enum))) continue;
          score += 'const' in sub ? (equal(sub.const, data[k]) ? 2 : -2) : (sub.enum as unknown[]).some((m) => equal(m, data[k])) ? 2 : -2;
        }
      }
      if (s.additionalProperties === false && s.patternProperties === undefined) for (const k of Object.keys(data)) if (!props || !Object.hasOwn(props, k)) score--;
    }
    const subs = subBranches(s);
    if (subs.length > 0) score += Math.max(...subs.map((b) => this.closeness(b, data, depth + 1)));
    if (Array.isArray(s.allOf)) for (const m of s.allOf) score += this.closeness(m, data, depth + 1);
    return score;
  }
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
