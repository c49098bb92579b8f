/**
 * Loads a rules file (a JSON Schema) and compiles it once, refusing a bad one before any work starts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Ajv, ValidateFunction, ErrorObject, Options } from 'ajv';
import { SchemaError } from '../errors.js';
import { DEFAULT_RULES_TEXT } from './default-schema.js';
import { ACCEPT, compileFastCheck, compileRootCheck, type Draft, type FastAccept, type FastCheck, type FastPathOptions, type FormatDef, type RootCheck } from './fast-path.js';
import { ajvRefResolver } from './ref-resolve.js';
import { makeExplainer, type Explain } from './explain.js';
import type { Rejection } from './classify.js';
import { VERSION } from '../version.js';

const require = createRequire(import.meta.url);
/** One ajv class per draft, and ajv-formats: loaded when a schema is first compiled, each draft's class when first needed. */
const ajvLib = {
  // ajv-formats and ajv-draft-04 are CommonJS with a default export: the callable is on `.default`.
  addFormats: (a: Ajv, o: { mode: 'full' }): void => {
    const m = require('ajv-formats');
    (m.default ?? m)(a, o);
  },
  draft04: (o: Options): Ajv => {
    const m = require('ajv-draft-04');
    return new (m.default ?? m)(o);
  },
  draft07: (o: Options): Ajv => {
    const a = new (require('ajv') as typeof import('ajv')).Ajv(o);
    a.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json'));
    return a;
  },
  draft2019: (o: Options): Ajv => new (require('ajv/dist/2019.js') as typeof import('ajv/dist/2019.js')).Ajv2019(o) as unknown as Ajv,
  draft2020: (o: Options): Ajv => new (require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js')).Ajv2020(o) as unknown as Ajv,
};

/** One schema violation as it appears in a reject record. */
export interface Violation {
  path: string;
  keyword: string;
  message: string;
}

/** A rejected line's explanation: its first violations, and how many there were in all. */
export interface Explained {
  errors: Violation[];
  total: number;
}

/** A line being explained on another thread (Rules.explainLater). */
export interface ExplainPending {
  /** Whether the answer is back (collect would not wait). */
  ready(): boolean;
  /**
   * The line's rejection; null when its explanation found nothing (ajv decides again where the line
   * is); undefined when it must be classified where it is after all. Call once.
   */
  collect(): Rejection | null | undefined;
}

/** A compiled rules file. */
export interface Rules {
  /** Where the rules came from: a file path, or "default". */
  origin: string;
  /** The schema text, stored with the run so `resume` applies exactly the same rules. */
  text: string;
  /** sha256 of `text`: a changed schema means objects are cleaned again. */
  hash: string;
  /** Problems that did not stop compilation (unknown keywords or formats). */
  warnings: string[];
  /** Whether checking them was skipped, an earlier check of the same text by the same program standing (RulesOptions.checkedBefore). */
  checkedEarlier: boolean;
  /**
   * A one-pass check of a line's bytes that answers true only for a line these rules accept
   * (see fast-path.ts); absent when the schema is outside the subset it understands.
   */
  fastAccept?: FastAccept;
  /** The same pass with its whole answer: it may also say a line surely breaks the rules. */
  fastCheck?: FastCheck;
  /** The fast path's root check itself (compileRootCheck), built anew on each call: for tests that check its REJECTs. */
  rootCheck?: () => RootCheck | undefined;
  /** At most this many violations are explained per line. */
  maxErrorsPerLine: number;
  /** Stops at the first violation: decides every line the fast path does not accept. */
  isValid: (data: unknown) => boolean;
  /**
   * Explains a line already known to be invalid: at most `maxErrorsPerLine` violations, a failed
   * oneOf/anyOf by its closest branch only (explain.ts), and how many violations there were in all.
   */
  explain: (data: unknown) => Explained;
  /**
   * What `explain` gives for a root object whose one fault is the value `data` of its member `key`
   * (fast-path-emit.ts's LINE_REJECT_ONE), from that value alone; undefined when it cannot tell
   * (then the whole line is explained).
   */
  explainMember: (key: string, data: unknown) => Explained | undefined;
  /**
   * Hands a line the rules reject (its bytes, UTF-8) to another thread, which parses and explains it
   * as classify would (classify.ts's rejectionOf); undefined when the line must be explained here.
   * Set in a clean worker whose run explains large rules' rejects on its main thread
   * (stages/explain-desk.ts).
   */
  explainLater?: (line: Buffer) => ExplainPending | undefined;
}

/** How compileRules may be tuned. */
export interface RulesOptions {
  /** Violations kept per rejected line (default DEFAULT_MAX_ERRORS_PER_LINE). */
  maxErrorsPerLine?: number;
  /**
   * These exact rules compiled before (in the run's main thread, which refused them if they did
   * not): skip validating them against the meta-schema again and compile the deciding validator
   * only when a line first needs it. A worker whose lines the fast path settles never pays for it;
   * on a 600 KB schema that is a second of CPU and tens of MB per thread.
   */
  checked?: boolean;
  /**
   * Compile only to refuse bad rules, then let the compiled validator go (a run's main thread: its
   * workers compile their own). On a 600 KB schema the validator holds tens of MB for the whole run.
   */
  checkOnly?: boolean;
  /** How the fast path is built (FastPathOptions.emitter): for tests that check both ways. */
  fastPathEmitter?: FastPathOptions['emitter'];
  /**
   * With checkOnly: the warnings of an earlier check of rules with this hash by this program
   * (rulesChecker()), or undefined when there was none. Rules found checked are not compiled again:
   * the verdict depends only on their text and the program (plan.ts keeps it in the run's state).
   */
  checkedBefore?: (hash: string) => string[] | undefined;
}

/**
 * The program that checks rules, as a checked_rules row names it: cleaner's version and those of
 * the libraries whose verdict and warnings the check is.
 */
export function rulesChecker(): string {
  const v = (name: string): string => (require(`${name}/package.json`) as { version: string }).version;
  return (checker ??= `cleaner ${VERSION}; ajv ${v('ajv')}; ajv-formats ${v('ajv-formats')}; ajv-draft-04 ${v('ajv-draft-04')}`);
}
/** rulesChecker's answer, made once (a run asks when it plans and when it records the check). */
let checker: string | undefined;

/** Ten violations say what is wrong with a line; a record of thousands says nothing more, slowly. */
export const DEFAULT_MAX_ERRORS_PER_LINE = 10;

const DRAFTS: Array<{ match: RegExp; make: (o: Options) => Ajv }> = [
  { match: /json-schema\.org\/(draft-04\/)?schema#?$/, make: ajvLib.draft04 },
  { match: /json-schema\.org\/draft-0[67]\/schema#?$/, make: ajvLib.draft07 },
  { match: /json-schema\.org\/draft\/2019-09\/schema#?$/, make: ajvLib.draft2019 },
  { match: /json-schema\.org\/draft\/2020-12\/schema#?$/, make: ajvLib.draft2020 },
];

/** Reads and compiles the rules file at `path`, or the built-in web-event rules when `path` is undefined. */
export function loadRules(path: string | undefined, options: RulesOptions = {}): Rules {
  if (path === undefined) return compileRules('default', DEFAULT_RULES_TEXT, options);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new SchemaError(path, e.code === 'ENOENT' ? 'file not found' : e.code === 'EISDIR' ? 'is a directory, not a file' : `cannot be read (${e.code ?? e.message})`);
  }
  return compileRules(path, text, options);
}

/** Compiles schema text; `origin` names it in messages. Throws SchemaError with a one-line reason. */
export function compileRules(origin: string, text: string, options: RulesOptions = {}): Rules {
  const limit = options.maxErrorsPerLine;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new RangeError(`maxErrorsPerLine must be an integer >= 1, got ${limit}`);
  let schema: unknown;
  try {
    schema = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new SchemaError(origin, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof schema === 'boolean') schema = schema ? {} : { not: {} };
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    throw new SchemaError(origin, 'a JSON Schema must be an object (or true/false)');
  }
  const warnings: string[] = [];
  const s = { ...(schema as Record<string, unknown>) };
  let make = DRAFTS[1].make; // draft-07 when $schema is absent, as most real-world rule files assume
  if (s.$schema !== undefined) {
    const found = typeof s.$schema === 'string' ? DRAFTS.find((d) => d.match.test(s.$schema as string)) : undefined;
    if (found) make = found.make;
    else {
      warnings.push(`unknown $schema ${JSON.stringify(s.$schema)}: validating as draft-07`);
      delete s.$schema;
    }
  }
  const logger = {
    log: () => {},
    warn: (...args: unknown[]) => {
      const message = args.map(String).join(' ');
      // ajv reads $anchor where it resolves $refs but lists no keyword for it, so strict mode calls
      // it unknown; in 2019-09 and 2020-12 it is part of the language.
      if (message === 'strict mode: unknown keyword: "$anchor"' && (make === DRAFTS[2].make || make === DRAFTS[3].make)) return;
      warnings.push(message);
    },
    error: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
  };
  const base: Options = {
    // Real-world schemas carry unknown keywords and formats: warn, never crash.
    strict: false,
    strictSchema: 'log',
    logger,
    // Rules must not depend on the network.
    loadSchema: undefined,
    // Our reject records want messages; `verbose` would copy whole data into every error.
    messages: true,
    // Each $ref target compiled once as its own function, not inlined at every use. On GitHub's
    // webhook schema (344 definitions sharing `repository`, `user`…) compiling took 3 s instead of
    // 9–13 s and kept 6 MB of heap instead of 15 MB, validating as fast; verdicts are the same.
    inlineRefs: false,
  };
  /** Compiled on first use when `checked`; at once otherwise, to refuse bad rules before any work. */
  let fast: ValidateFunction | undefined;
  /** null until first asked for. */
  let fastCheck: FastCheck | undefined | null = null;
  const unknownFormats: string[] = [];
  /** A fresh ajv for these rules: the draft, ajv-formats' full mode, and the unknown formats accepted. */
  const ajvFor = (allErrors: boolean, log: Options['logger'] = logger, extra: Options = {}): Ajv => {
    const a = make({ ...base, allErrors, logger: log, ...extra });
    ajvLib.addFormats(a, { mode: 'full' });
    for (const f of unknownFormats) a.addFormat(f, true);
    return a;
  };
  /** The deciding validator's ajv instance; made on first need (deciding(), below). */
  let fastAjv: Ajv | undefined;
  /** How fastAjv is made (beyond ajvFor's defaults), to make it again. */
  let fastAjvOptions: Options = {};
  const deciding = (): Ajv => (fastAjv ??= ajvFor(false, logger, fastAjvOptions));
  const compileDecider = (): ValidateFunction => {
    // ajv throws on an unknown format even when asked only to log; accept any value for it, and say so.
    for (let attempt = 0; ; attempt++) {
      try {
        return deciding().compile(s);
      } catch (err) {
        const m = /^unknown format "(.*)" ignored in schema/.exec((err as Error).message);
        if (!m || attempt > 100) throw err;
        warnings.push(`unknown format "${m[1]}": not checked`);
        unknownFormats.push(m[1]);
        // A fresh instance for the next attempt: the failed compile leaves the $refs it reached
        // half-built in this one, and a recursive one then throws "wrapper0.validate is not a
        // function" on data that reaches it (found by the diff fuzz).
        fastAjv = undefined;
      }
    }
  };
  const hash = createHash('sha256').update(text).digest('hex');
  const earlier = options.checkOnly ? options.checkedBefore?.(hash) : undefined;
  if (earlier !== undefined || (options.checkOnly && origin === 'default' && text === DEFAULT_RULES_TEXT)) {
    // Nothing to check: rules this program checked before (their warnings stand), or the built-in
    // rules, which compile (the tests say so). The main thread of such a run never loads ajv (about
    // 100 ms before any worker starts; seconds for a large schema checked before).
    warnings.push(...(earlier ?? []));
    fastAjvOptions = { validateSchema: false };
  } else if (options.checked) {
    // The formats the first compile found unknown, found again without compiling: every string
    // `format` in the schema that ajv does not know (one that no subschema uses is harmless).
    fastAjvOptions = { validateSchema: false };
    fastAjv = ajvFor(false, logger, fastAjvOptions);
    for (const f of formatNames(s)) {
      if (Object.hasOwn(fastAjv.formats, f)) continue;
      unknownFormats.push(f);
      fastAjv.addFormat(f, true);
    }
  } else {
    try {
      // Code that only proves the rules compile need not be optimised (on GitHub's webhook schema
      // that pass was two thirds of the compile, about 1 s of 1.6), nor made into functions: ajv
      // finds what it refuses while it generates the code, and evaluating 2,300 functions' source
      // that is thrown away cost about 0.1 s more (provesOnly).
      fastAjvOptions = options.checkOnly ? { code: { optimize: false, process: provesOnly(s) } } : {};
      fast = compileDecider();
    } catch (err) {
      throw new SchemaError(origin, describeCompileError(err as Error));
    }
    if (options.checkOnly) {
      // ajv keeps what it compiled: a fresh instance, should a line ever need deciding here.
      fast = undefined;
      fastAjvOptions = { validateSchema: false };
      fastAjv = undefined;
    }
  }
  // The same format checks ajv applies, unknown formats included (accepted as `true`). Only a
  // speed-up: if building it fails, every line takes the exact path. Built on first use: the main
  // thread only checks the rules, and a 600 KB schema's fast path is seconds and megabytes of code.
  const fastOptions: FastPathOptions = {
    draft: draftOf(make),
    isKeyword: (k) => deciding().getKeyword(k) !== false,
    emitter: options.fastPathEmitter,
    // Rules that name their parts by id: the deciding validator, compiled now, says where each $ref leads.
    refs: () => ajvRefResolver(deciding(), (fast ??= compileDecider())),
  };
  const buildFast = <T>(compile: typeof compileFastCheck | typeof compileRootCheck): T | undefined => {
    try {
      return compile(s, deciding().formats as Record<string, FormatDef | undefined>, fastOptions) as T | undefined;
    } catch {
      return undefined;
    }
  };
  const maxErrors = options.maxErrorsPerLine ?? DEFAULT_MAX_ERRORS_PER_LINE;
  // Built on the first rejected line: a clean file never pays for compiling the explanation.
  let explainer: Explain | null | undefined;
  /** The explainer, made on first use (null: the rules cannot be explained apart, see explain.ts). */
  const theExplainer = (): Explain | null => {
    if (explainer === undefined) {
      try {
        explainer = makeExplainer(s, (allErrors) => ajvFor(allErrors, quiet, EXPLAIN_OPTIONS), make === DRAFTS[0].make ? 'id' : '$id');
      } catch {
        explainer = null;
      }
    }
    return explainer;
  };
  const quiet: Options['logger'] = { log() {}, warn() {}, error() {} };
  return {
    origin,
    text,
    hash,
    warnings: [...new Set(warnings)],
    checkedEarlier: earlier !== undefined,
    get fastCheck() {
      if (fastCheck === null) fastCheck = buildFast<FastCheck>(compileFastCheck);
      return fastCheck;
    },
    get fastAccept() {
      const check = this.fastCheck;
      return check === undefined ? undefined : (b: Buffer, start: number, end: number) => check(b, start, end) === ACCEPT;
    },
    rootCheck: () => buildFast<RootCheck>(compileRootCheck),
    maxErrorsPerLine: maxErrors,
    isValid: (data) => (fast ??= compileDecider())(data) as boolean,
    explain: (data) => {
      const explainer = theExplainer();
      let errors: ErrorObject[] = [];
      if (explainer) {
        try {
          errors = explainer(data);
        } catch (err) {
          if (err instanceof RangeError) throw err;
          errors = [];
        }
      }
      // The explanation found nothing (it cannot see what unevaluated* sees): ajv's fail-fast errors.
      if (errors.length === 0) {
        fast ??= compileDecider();
        fast(data);
        errors = fast.errors ?? [];
      }
      return { errors: firstErrors(errors, maxErrors).map(toViolation), total: errors.length };
    },
    explainMember: (key, data) => {
      const explainer = theExplainer();
      let errors: ErrorObject[] | undefined;
      try {
        errors = explainer?.member(key, data);
      } catch (err) {
        if (err instanceof RangeError) throw err;
      }
      if (errors === undefined || errors.length === 0) return undefined;
      return { errors: firstErrors(errors, maxErrors).map(toViolation), total: errors.length };
    },
  };
}

/**
 * The first `max` of an explanation's errors, keeping one line that names a failed oneOf/anyOf's
 * closest branch (explain.ts): that line follows the branch's own violations, and a branch with
 * more than `max` of them pushed it out (GitHub's webhook payloads reach 20), leaving the record
 * without the one line that says which event type the payload was taken for. The last such line is
 * kept: an enclosing oneOf's comes after those inside it.
 */
function firstErrors(errors: ErrorObject[], max: number): ErrorObject[] {
  if (errors.length <= max) return errors;
  const kept = errors.slice(0, max);
  for (let i = errors.length - 1; i >= max; i--) {
    if (errors[i].params?.closestBranch !== undefined) {
      kept[max - 1] = errors[i];
      break;
    }
  }
  return kept;
}

/** Every string value of a `format` key in `schema`, wherever it sits. */
function formatNames(schema: unknown): string[] {
  const found = new Set<string>();
  const walk = (x: unknown): void => {
    if (x === null || typeof x !== 'object') return;
    if (!Array.isArray(x) && typeof (x as Record<string, unknown>).format === 'string') found.add((x as Record<string, unknown>).format as string);
    for (const v of Object.values(x as object)) walk(v);
  };
  walk(schema);
  return [...found];
}

/**
 * ajv's `code.process` for a compile that only proves the rules `schema` compile: the source of each
 * function generated for them becomes one that is never called (the main thread lets the validator
 * go at once). Not the meta-schema's: ajv validates the rules with it during the compile.
 */
function provesOnly(schema: object): (source: string, env?: { root?: { schema?: unknown } }) => string {
  return (source, env) => (env?.root?.schema === schema ? 'return function unused() { throw new Error("a check-only validator was called"); }' : source);
}

/**
 * The explainer's ajv options beside the rules'. `validateSchema: false`: the rules were checked
 * against their meta-schema when first compiled, and checking the explainer's rewritten copy again
 * compiled the 2020-12 meta-schema per worker (~120 ms on a small schema). `optimize: false`: an
 * explanation runs once per rejected line, so compiling fast matters more than running fast.
 * `loopRequired: 1`: each `required` list checked in a loop rather than one error-reporting block
 * per key, the same errors in the same order; the branches 783 rejects of GitHub's webhook schema
 * reach came to 1.47 MB of generated code instead of 1.87, and their first pass cost about 13 % less
 * CPU (ajv builds that code, then V8 parses it on first call). (`optimize: true` shrank it less and
 * cost more; `loopEnum` changed nothing there.)
 */
const EXPLAIN_OPTIONS: Options = { validateSchema: false, code: { optimize: false }, loopRequired: 1 };

/** Which draft a DRAFTS entry compiles, for the fast path's vocabulary. */
function draftOf(make: (o: Options) => Ajv): Draft {
  return make === DRAFTS[0].make ? 'draft-04' : make === DRAFTS[2].make ? '2019-09' : make === DRAFTS[3].make ? '2020-12' : 'draft-07';
}

function toViolation(e: ErrorObject): Violation {
  let message = e.message ?? e.keyword;
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') message = `must have required property '${e.params.missingProperty}'`;
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') message = `must NOT have additional property '${e.params.additionalProperty}'`;
  let path = e.instancePath;
  // A missing property is reported at its own pointer, so reports group "/session_id required"
  // apart from "/event_id required" rather than lumping both under "/".
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') path += '/' + escapePointer(e.params.missingProperty);
  if (e.keyword === 'dependentRequired' && typeof e.params.missingProperty === 'string') path += '/' + escapePointer(e.params.missingProperty);
  return { path: path === '' ? '/' : path, keyword: e.keyword, message };
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function describeCompileError(err: Error): string {
  const msg = err.message.split('\n')[0];
  if ((err as { missingRef?: string }).missingRef !== undefined || /can't resolve reference/.test(msg)) {
    return `unresolvable $ref: ${msg}`;
  }
  if (/schema is invalid/.test(msg)) return `not a valid JSON Schema: ${msg.replace(/^schema is invalid: /, '')}`;
  return `cannot be compiled: ${msg}`;
}
