/**
 * Explains a line the rules already rejected, briefly: a failed `oneOf`/`anyOf` is explained by the
 * one branch that came closest (a branch whose `const`/`enum` discriminator matched, else the one
 * with the fewest errors), not by every branch. The verdict is never decided here.
 *
 * Why: with `allErrors` every failing branch of every `oneOf` reports everything. On a published
 * event schema with a `oneOf` over hundreds of event types, one 10 KB line gave 2,301 errors (248 KB
 * of reject record), and explaining cost more than deciding.
 *
 * How: a copy of the schema in which each `oneOf`/`anyOf` becomes a keyword of ours. One ajv instance
 * (with `allErrors`) compiles the copy's branches lazily, on the first reject that reaches them; our
 * keyword skips the branches that surely fail by cheap structural facts gathered once per subschema,
 * runs the rest for the verdict, and keeps the errors of only the closest branch.
 * Where the copy's explanation differs from the real one (it gives no annotations to
 * `unevaluated*`), or the copy cannot be compiled, the caller falls back to ajv's fail-fast errors.
 */
import type { Ajv, AnySchemaObject, ErrorObject, ValidateFunction } from 'ajv';
import equalModule from 'ajv/dist/runtime/equal.js';
import { ANNOTATIONS, lineRootPointer, NOT_FOUND, pointerTarget } from './schema-pointer.js';

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
export type Explain = ((data: unknown) => ErrorObject[]) & {
  /**
   * The errors of the root's `properties[key]` subschema for `data` (that member's value), at the
   * member's path: what explaining the whole object gives when that member is its only fault
   * (fast-path-emit.ts's LINE_REJECT_ONE). Undefined when the root has no such subschema.
   */
  member: (key: string, data: unknown) => ErrorObject[] | undefined;
};

/**
 * Branch validators kept before the explainer starts afresh. A compiled branch of a large schema
 * costs tens of KB; a file whose lines touch every branch of a 600 KB schema would otherwise keep
 * all of them, per worker thread.
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
  // Where the root's members are judged (a root that is only a $ref judges them at its target).
  const lineRoot = lineRootPointer(copy, idKey);
  let built = build(copy, rootId, make, shape, structural, lineRoot);
  const fresh = (): void => {
    // Start afresh between lines once too many branches are compiled: memory stays bounded.
    if (built.compiled() > MAX_CACHED_BRANCHES) built = build(copy, rootId!, make, shape, structural, lineRoot);
  };
  const explain = (data: unknown): ErrorObject[] => {
    fresh();
    return built.explain(data);
  };
  return Object.assign(explain, {
    member: (key: string, data: unknown): ErrorObject[] | undefined => {
      fresh();
      return built.member(key, data);
    },
  });
}

/** The explainer's ajv instance and its lazily compiled branch validators. */
function build(copy: Record<string, unknown>, rootId: string, make: (allErrors: boolean) => Ajv, shape: Shape, structural: boolean, lineRoot: string): { explain: (data: unknown) => ErrorObject[]; member: Explain['member']; compiled: () => number } {
  // One instance, with allErrors, both decides and explains a branch: a branch that fails is asked
  // for its errors anyway when it is among the closest, and `$ref`'d definitions (GitHub's `user`,
  // `repository`…) compile once, not once per instance. Deciding with a second, fail-fast instance
  // compiled each reached branch twice: the larger part of explaining a file's first rejects.
  const ajv = make(true);
  const cache = new Map<string, ValidateFunction>();
  const branchValidator = (at: string, i: number): ValidateFunction => {
    const key = `${at}/branches/${i}`;
    let v = cache.get(key);
    if (v === undefined) {
      v = ajv.getSchema(`${rootId}#${key}`);
      if (!v) throw new Error(`explain: no subschema at ${key}`);
      cache.set(key, v);
    }
    return v;
  };

  for (const [keyword, one] of [[ONE_OF, true], [ANY_OF, false]] as const) {
    const name = one ? 'oneOf' : 'anyOf';
    // The same verdict as ajv's oneOf/anyOf; when the composition fails, the closest branch's errors only.
    const explainFn = (sch: Branches, data: unknown, _parent?: unknown, cxt?: { instancePath: string }): boolean => {
      // Branches that surely fail are neither compiled nor run; the failures of those that ran are kept.
      const passing: number[] = [];
      const failed = new Map<number, ErrorObject[]>();
      const facts = shape.branches(sch.branches);
      for (let i = 0; i < sch.branches.length; i++) {
        if (structural && shape.cannotMatch(facts[i], data, 0)) continue;
        // A branch that is only a type, const or enum (a nullable field's `{type: "null"}`) and did
        // not surely fail surely passes: settled without compiling it.
        if (structural && facts[i].simple) passing.push(i);
        else {
          const v = branchValidator(sch.at, i);
          if (v(data)) passing.push(i);
          else failed.set(i, v.errors ?? []);
        }
        if (one ? passing.length > 1 : passing.length > 0) break;
      }
      if (one ? passing.length === 1 : passing.length > 0) return true;
      const prefix = cxt?.instancePath ?? '';
      if (passing.length > 1) {
        explainFn.errors = [{ keyword: name, instancePath: prefix, schemaPath: '', params: { passingSchemas: passing }, message: `must match exactly one schema in oneOf, but matches branches ${passing.join(' and ')}` }];
        return false;
      }
      // The closest branches by shape (discriminator, required keys present), then the fewest errors
      // among the few best: explaining every branch with allErrors is what made a reject cost 170 ms.
      const all = sch.branches.map((_, i) => i);
      const matched = all.filter((i) => shape.discriminated(facts[i], data));
      const pool = matched.length > 0 ? matched : all;
      const scores = pool.length > 1 && structural ? pool.map((i) => shape.closeness(facts[i], data)) : pool.map(() => 0);
      const top = Math.max(...scores);
      // One clear winner by shape is explained alone; a tie is settled by the fewest errors (the
      // first few tied, in branch order).
      const candidates = pool.filter((_, k) => scores[k] === top).slice(0, MAX_EXPLAINED_CANDIDATES);
      let best = -1;
      let bestErrors: ErrorObject[] = [];
      for (const i of candidates) {
        let errs = failed.get(i);
        if (errs === undefined) {
          const v = branchValidator(sch.at, i);
          v(data);
          errs = v.errors ?? [];
        }
        if (best < 0 || errs.length < bestErrors.length) {
          best = i;
          bestErrors = errs;
        }
      }
      const label = branchLabel(copy, sch.branches[best], best);
      explainFn.errors = [
        ...bestErrors.map((e) => ({ ...e, instancePath: prefix + e.instancePath })),
        { keyword: name, instancePath: prefix, schemaPath: '', params: { closestBranch: best }, message: `must match ${one ? 'exactly one' : 'a'} schema in ${name}; closest: ${label}${matched.length > 0 ? ' (its discriminator matched)' : ''}` },
      ];
      return false;
    };
    explainFn.errors = [] as ErrorObject[];
    ajv.addKeyword({ keyword, schemaType: 'object', errors: true, validate: explainFn as any });
  }
  // Every subschema is reached by pointer into the copy, so the copy is registered, not compiled whole.
  ajv.addSchema(copy as AnySchemaObject);
  const root = ajv.getSchema(rootId)!;
  /** The line root's `properties` subschemas by key, compiled on first use (null: none). */
  const members = new Map<string, ValidateFunction | null>();
  const judge = pointerTarget(copy, lineRoot) as Record<string, unknown>;
  const hasProperties = typeof judge.properties === 'object' && judge.properties !== null;
  return {
    explain: (data) => {
      root(data);
      return root.errors ?? [];
    },
    member: (key, data) => {
      let v = members.get(key);
      if (v === undefined) {
        const own = hasProperties && Object.hasOwn(judge.properties as object, key);
        v = own ? (ajv.getSchema(`${rootId}${lineRoot}/properties/${encodeURIComponent(escapePointer(key))}`) ?? null) : null;
        members.set(key, v);
      }
      if (v === null) return undefined;
      v(data);
      const at = '/' + escapePointer(key);
      return (v.errors ?? []).map((e) => ({ ...e, instancePath: at + e.instancePath }));
    },
    compiled: () => cache.size + members.size,
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
  // Remembered: splitting and decoding pointers, once per branch label of every reject, was the
  // largest part of explaining a reject against GitHub's webhook schema.
  let found = resolved.get(node);
  if (found === undefined) {
    found = follow(root, node);
    resolved.set(node, found);
  }
  return found;
}

function follow(root: unknown, node: unknown): unknown {
  for (let hops = 0; hops < 32; hops++) {
    const next = hop(root, node);
    if (next === node) return node;
    node = next;
  }
  return node;
}

/** The target of `node`'s local `$ref`, or `node` itself when it has none or it does not resolve. */
function hop(root: unknown, node: unknown): unknown {
  if (node === null || typeof node !== 'object') return node;
  const ref = (node as Record<string, unknown>).$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
  const at = pointerTarget(root, ref);
  return at === NOT_FOUND ? node : at;
}

/** Whether each node from `node` to `end` (its resolved target) is a `$ref` with annotations only beside it. */
function bareRefs(root: unknown, node: unknown, end: unknown): boolean {
  for (let hops = 0; node !== end && hops < 32; hops++) {
    if (node === null || typeof node !== 'object' || !onlyKeys(node, REF_KEYS)) return false;
    node = hop(root, node);
  }
  return node === end;
}

/** A simple schema's keywords: cannotMatch checks all of those that assert. */
const SIMPLE_KEYS = new Set(['type', 'const', 'enum', ...ANNOTATIONS]);
const REF_KEYS = new Set(['$ref', ...ANNOTATIONS]);

function onlyKeys(s: object, allowed: Set<string>): boolean {
  for (const k in s) if (!allowed.has(k)) return false;
  return true;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
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

/** JSON types as bits; a number with an integer value is both a number and an integer. */
const STRING = 1, NUMBER = 2, INTEGER = 4, BOOLEAN = 8, NULL = 16, OBJECT = 32, ARRAY = 64, ANY_TYPE = 127;
const TYPE_BITS: Record<string, number> = { string: STRING, number: NUMBER, integer: INTEGER, boolean: BOOLEAN, null: NULL, object: OBJECT, array: ARRAY };

function typeBitsOf(data: unknown): number {
  switch (typeof data) {
    case 'string': return STRING;
    case 'number': return Number.isInteger(data) ? NUMBER | INTEGER : NUMBER;
    case 'boolean': return BOOLEAN;
    case 'object': return data === null ? NULL : Array.isArray(data) ? ARRAY : OBJECT;
    default: return ANY_TYPE;
  }
}

/** A property whose subschema names its values by `const`/`enum`: a discriminator. */
interface Discriminator {
  name: string;
  matches: (value: unknown) => boolean;
}

/** What the structural checks read from one (resolved) subschema of the copy, gathered once. */
interface Facts {
  /** `false`: nothing matches. */
  never: boolean;
  /**
   * Nothing but `type`, `const`/`enum` and annotations (reached by a bare `$ref` or not): a value
   * passes exactly when cannotMatch is false.
   */
  simple: boolean;
  /** A `$ref` not followed (not local, or with siblings ajv resolves its own way): no certain facts. */
  ref: boolean;
  /** Allowed JSON types as bits (ajv's reading: an unknown type name allows all). */
  types: number;
  /** The schema's own `const`/`enum`, if any. */
  value: ((data: unknown) => boolean) | undefined;
  required: string[];
  discriminators: Discriminator[];
  /** The `properties` an object closed by `additionalProperties: false` may have (undefined when open). */
  closedTo: Record<string, unknown> | undefined;
  /**
   * The subschemas below, as written (linked to their Facts on first use: a schema may refer to
   * itself). Property names come discriminators first: a wrong discriminator is the cheapest certain
   * failure. Held as the schema's own objects: a reject of GitHub's schema reaches 2,600 subschemas
   * with 32,000 properties, and a tuple or Set entry for each kept 5 MB more per thread.
   */
  below: { properties: Record<string, unknown>; names: string[]; allOf: unknown[]; groups: unknown[][] };
  // The fields below are set on first use, and present (undefined) from the start: Facts of one
  // shape keep the structural checks' property reads monomorphic.
  linked: Linked | undefined;
  /** Keys every matching object has (see Shape.mustHave). */
  mustHave: string[] | undefined;
  /** The discriminators Shape.discriminated tries, each list one subschema's (see Shape.discriminators). */
  discriminatorLists: Discriminator[][] | undefined;
}

/** The Facts below a subschema: its properties' (in `below.names` order), its `allOf` members', and each `oneOf`/`anyOf` branch's. */
interface Linked {
  /**
   * Each property's on first use (see Shape.property): only cannotMatch reads them, and only for
   * the keys a value has. discriminated and closeness read every branch of a group but none of its
   * properties: on GitHub's schema, gathering every action's properties for them had discriminated
   * cost 0.08 ms a reject over a 50 MB file's first pass (783 rejects), 0.05 without.
   */
  properties: Array<Facts | undefined>;
  allOf: Facts[];
  groups: Facts[][];
}

const NO_FACTS: Facts = { never: false, simple: false, ref: false, types: ANY_TYPE, value: undefined, required: [], discriminators: [], closedTo: undefined, below: { properties: {}, names: [], allOf: [], groups: [] }, linked: undefined, mustHave: undefined, discriminatorLists: undefined };
const NEVER: Facts = { ...NO_FACTS, never: true };

/** A test of a value against a `const` or `enum` (ajv's deep equality). */
function valueTest(s: Record<string, unknown>): ((data: unknown) => boolean) | undefined {
  if ('const' in s) {
    const c = s.const;
    return c === null || typeof c !== 'object' ? (v) => v === c : (v) => equal(c, v);
  }
  if (Array.isArray(s.enum)) {
    const members = s.enum as unknown[];
    return members.every((m) => m === null || typeof m !== 'object') ? (v) => members.includes(v) : (v) => members.some((m) => equal(m, v));
  }
  return undefined;
}

/**
 * Certain, cheap facts about a value and a subschema of the copy, read without compiling anything:
 * they let a reject skip compiling branches that surely fail, and rank the rest. Each subschema's
 * facts are gathered once, on first use (a reject asks them of every branch of every `oneOf` it
 * meets: on GitHub's webhook schema, re-reading the schema objects each time was most of the cost).
 */
class Shape {
  private facts = new WeakMap<object, Facts>();

  constructor(private root: unknown) {}

  private factsOf(schema: unknown): Facts {
    if (schema === null || typeof schema !== 'object') return schema === false ? NEVER : NO_FACTS;
    let f = this.facts.get(schema);
    if (f === undefined) {
      const s = resolveLocal(this.root, schema);
      f = this.gather(s);
      // A `$ref` with siblings is more than its target: simple only when every hop of the way is a
      // bare `$ref` (annotations aside).
      if (f.simple && s !== schema && !bareRefs(this.root, schema, s)) f = { ...f, simple: false };
      this.facts.set(schema, f);
    }
    return f;
  }

  private gather(s: unknown): Facts {
    if (s === false) return NEVER;
    if (!isPlainObject(s)) return NO_FACTS;
    let types = ANY_TYPE;
    if (s.type !== undefined) {
      const names = Array.isArray(s.type) ? s.type : [s.type];
      types = 0;
      for (const t of names) types |= typeof t === 'string' && Object.hasOwn(TYPE_BITS, t) ? TYPE_BITS[t] : ANY_TYPE;
    }
    const discriminators: Discriminator[] = [];
    const props = isPlainObject(s.properties) ? s.properties : {};
    const names = Object.keys(props);
    for (const name of names) {
      const sub = resolveLocal(this.root, props[name]);
      const matches = isPlainObject(sub) ? valueTest(sub) : undefined;
      if (matches) discriminators.push({ name, matches });
    }
    if (discriminators.length > 0) names.sort((a, b) => Number(discriminators.some((d) => d.name === b)) - Number(discriminators.some((d) => d.name === a)));
    const groups: unknown[][] = [];
    for (const kw of [ONE_OF, ANY_OF]) {
      const b = s[kw] as Branches | undefined;
      if (isPlainObject(b) && Array.isArray(b.branches)) groups.push(b.branches);
    }
    return {
      never: false,
      simple: typeof s.$ref !== 'string' && (s.type === undefined || types !== ANY_TYPE) && onlyKeys(s, SIMPLE_KEYS),
      ref: typeof s.$ref === 'string',
      types,
      value: valueTest(s),
      required: Array.isArray(s.required) ? s.required.filter((k): k is string => typeof k === 'string') : [],
      discriminators,
      closedTo: s.additionalProperties === false && s.patternProperties === undefined ? props : undefined,
      below: { properties: props, names, allOf: Array.isArray(s.allOf) ? s.allOf : [], groups },
      linked: undefined,
      mustHave: undefined,
      discriminatorLists: undefined,
    };
  }

  private link(f: Facts): Linked {
    if (f.linked === undefined) {
      const { names, allOf, groups } = f.below;
      f.linked = {
        properties: new Array<Facts | undefined>(names.length),
        allOf: allOf.map((m) => this.factsOf(m)),
        groups: groups.map((g) => this.branches(g)),
      };
    }
    return f.linked;
  }

  /** The Facts of `f`'s `i`th property (in `below.names` order). */
  private property(f: Facts, below: Linked, i: number): Facts {
    return (below.properties[i] ??= this.factsOf(f.below.properties[f.below.names[i]]));
  }

  private byList = new WeakMap<unknown[], Facts[]>();

  /** The Facts of each branch of a `oneOf`/`anyOf`. */
  branches(list: unknown[]): Facts[] {
    let out = this.byList.get(list);
    if (out === undefined) {
      out = list.map((b) => this.factsOf(b));
      this.byList.set(list, out);
    }
    return out;
  }

  /**
   * True only when ajv surely rejects `data` against `schema`: a wrong type, `const` or `enum`, a
   * required key missing (also in a property's value, an `allOf` member, or every branch of a
   * `oneOf`/`anyOf`). False when unsure.
   */
  cannotMatch(f: Facts, data: unknown, depth: number): boolean {
    if (depth > MAX_STRUCTURE_DEPTH) return false;
    if (f.never) return true;
    if (f.ref) return false;
    if ((f.types & typeBitsOf(data)) === 0) return true;
    if (f.value !== undefined && !f.value(data)) return true;
    if (isPlainObject(data)) {
      for (const k of f.mustHave ?? this.mustHave(f)) if (!Object.hasOwn(data, k)) return true;
    }
    const below = f.linked ?? this.link(f);
    if (isPlainObject(data)) {
      const { names } = f.below;
      for (let i = 0; i < names.length; i++) if (Object.hasOwn(data, names[i]) && this.cannotMatch(below.properties[i] ?? this.property(f, below, i), data[names[i]], depth + 1)) return true;
    }
    for (const m of below.allOf) if (this.cannotMatch(m, data, depth + 1)) return true;
    for (const branches of below.groups) {
      let all = true;
      for (const m of branches) if (!this.cannotMatch(m, data, depth + 1)) { all = false; break; }
      if (all) return true;
    }
    return false;
  }

  /**
   * The keys an object matching `f` surely has: its own `required`, its `allOf` members', and those
   * every branch of a `oneOf`/`anyOf` requires. An event type of GitHub's schema (a `oneOf` over its
   * actions, each requiring the event's own key) is then ruled out by one missing key, not by
   * visiting each action: that was most of cannotMatch's calls for a reject.
   */
  private mustHave(f: Facts): string[] {
    if (f.mustHave !== undefined) return f.mustHave;
    // While in progress (a schema that reaches itself) its own `required` stands: fewer keys than
    // the truth, so still certain.
    f.mustHave = f.ref ? [] : f.required;
    if (f.ref) return f.mustHave;
    const keys = new Set(f.required);
    for (const m of f.below.allOf) for (const k of this.mustHave(this.factsOf(m))) keys.add(k);
    for (const group of f.below.groups) {
      let common: Set<string> | undefined;
      for (const b of this.branches(group)) {
        // A branch no object matches does not count.
        if (b.never || (b.types & OBJECT) === 0) continue;
        const own = this.mustHave(b);
        common = new Set(common === undefined ? own : own.filter((k) => common!.has(k)));
        if (common.size === 0) break;
      }
      if (common !== undefined) for (const k of common) keys.add(k);
    }
    f.mustHave = [...keys];
    return f.mustHave;
  }

  /**
   * Whether a branch's discriminator matches `data`: its own (every `const`/`enum` property it names
   * is present and matches), or one of its nested `oneOf`/`anyOf` branches' (a schema of event types,
   * each a `oneOf` over its actions, is discriminated one level down).
   */
  discriminated(f: Facts, data: unknown): boolean {
    if (!isPlainObject(data)) return false;
    for (const list of f.discriminatorLists ?? this.discriminators(f)) {
      let all = true;
      for (const d of list) if (!Object.hasOwn(data, d.name) || !d.matches(data[d.name])) { all = false; break; }
      if (all) return true;
    }
    return false;
  }

  /**
   * The discriminator lists `discriminated` tries for `f`: its own, and those of the `oneOf`/`anyOf`
   * branches below it (MAX_STRUCTURE_DEPTH levels down), each once. Gathered once per subschema: a
   * reject of GitHub's schema asked 260 subschemas each time (66 event types, 190 actions).
   */
  private discriminators(f: Facts): Discriminator[][] {
    const lists = new Set<Discriminator[]>();
    // A subschema met again no shallower than before has nothing new below it.
    const shallowest = new Map<Facts, number>();
    const collect = (g: Facts, depth: number): void => {
      if (depth > MAX_STRUCTURE_DEPTH || (shallowest.get(g) ?? Infinity) <= depth) return;
      shallowest.set(g, depth);
      if (g.discriminators.length > 0) lists.add(g.discriminators);
      for (const branches of (g.linked ?? this.link(g)).groups) for (const b of branches) collect(b, depth + 1);
    };
    collect(f, 0);
    f.discriminatorLists = [...lists];
    return f.discriminatorLists;
  }

  /**
   * How close `data` comes to `schema`, higher is closer: required keys present count for, missing
   * ones against; a `const`/`enum` property matched counts twice; a key a closed object does not
   * name counts against; a nested `oneOf`/`anyOf` adds its closest branch's score.
   */
  closeness(f: Facts, data: unknown): number {
    return this.score(f, data, typeBitsOf(data), isPlainObject(data) ? Object.keys(data) : undefined, 0);
  }

  /** closeness below the top, with what it reads of `data` read once: its type bits and its keys (when an object). */
  private score(f: Facts, data: unknown, bits: number, keys: string[] | undefined, depth: number): number {
    if (depth > MAX_STRUCTURE_DEPTH) return 0;
    if (f === NO_FACTS || f === NEVER) return 0;
    if ((f.types & bits) === 0) return -5;
    let score = 0;
    if (keys !== undefined) {
      const o = data as Record<string, unknown>;
      for (const k of f.required) score += Object.hasOwn(o, k) ? 1 : -1;
      for (const d of f.discriminators) if (Object.hasOwn(o, d.name)) score += d.matches(o[d.name]) ? 2 : -2;
      if (f.closedTo !== undefined) for (const k of keys) if (!Object.hasOwn(f.closedTo, k)) score--;
    }
    const below = f.linked ?? this.link(f);
    let closest = -Infinity;
    for (const branches of below.groups) for (const b of branches) closest = Math.max(closest, this.score(b, data, bits, keys, depth + 1));
    if (closest > -Infinity) score += closest;
    for (const m of below.allOf) score += this.score(m, data, bits, keys, depth + 1);
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
