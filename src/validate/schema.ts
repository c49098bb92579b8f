/**
 * Loads a rules file (a JSON Schema) and compiles it once, refusing a bad one before any work starts.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction, type ErrorObject, type Options } from 'ajv';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Ajv2020 } from 'ajv/dist/2020.js';
import AjvDraft04Module from 'ajv-draft-04';
import addFormatsModule from 'ajv-formats';
import draft06 from 'ajv/dist/refs/json-schema-draft-06.json' with { type: 'json' };
import { SchemaError } from '../errors.js';
import { defaultSchema } from './default-schema.js';
import { compileFastAccept, compileFastCheck, type Draft, type FastAccept, type FastCheck, type FastPathOptions, type FormatDef } from './fast-path.js';
import { makeExplainer, type Explain } from './explain.js';

// ajv-formats and ajv-draft-04 are CommonJS with a default export; under NodeNext the callable is on `.default`.
const addFormats = ((addFormatsModule as any).default ?? addFormatsModule) as typeof import('ajv-formats').default;
const AjvDraft04 = ((AjvDraft04Module as any).default ?? AjvDraft04Module) as typeof import('ajv-draft-04').default;

/** One schema violation as it appears in a reject record. */
export interface Violation {
  path: string;
  keyword: string;
  message: string;
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
  /**
   * A one-pass check of a line's bytes that answers true only for a line these rules accept
   * (see fast-path.ts); absent when the schema is outside the subset it understands.
   */
  fastAccept?: FastAccept;
  /** The fast path's own answer for a value (compileFastCheck), built anew on each call: for tests that check its REJECTs. */
  fastCheck?: () => FastCheck | undefined;
  /** At most this many violations are explained per line. */
  maxErrorsPerLine: number;
  /** Stops at the first violation: decides every line the fast path does not accept. */
  isValid: (data: unknown) => boolean;
  /**
   * Explains a line already known to be invalid: at most `maxErrorsPerLine` violations, a failed
   * oneOf/anyOf by its closest branch only (explain.ts), and how many violations there were in all.
   */
  explain: (data: unknown) => { errors: Violation[]; total: number };
}

/** How compileRules may be tuned. */
export interface RulesOptions {
  /** Violations kept per rejected line (default DEFAULT_MAX_ERRORS_PER_LINE). */
  maxErrorsPerLine?: number;
}

/** Ten violations say what is wrong with a line; a record of thousands says nothing more, slowly. */
export const DEFAULT_MAX_ERRORS_PER_LINE = 10;

const DRAFTS: Array<{ match: RegExp; make: (o: Options) => Ajv }> = [
  { match: /json-schema\.org\/(draft-04\/)?schema#?$/, make: (o) => new AjvDraft04(o) as unknown as Ajv },
  { match: /json-schema\.org\/draft-0[67]\/schema#?$/, make: (o) => { const a = new Ajv(o); a.addMetaSchema(draft06); return a; } },
  { match: /json-schema\.org\/draft\/2019-09\/schema#?$/, make: (o) => new Ajv2019(o) as unknown as Ajv },
  { match: /json-schema\.org\/draft\/2020-12\/schema#?$/, make: (o) => new Ajv2020(o) as unknown as Ajv },
];

/** Reads and compiles the rules file at `path`, or the built-in web-event rules when `path` is undefined. */
export function loadRules(path: string | undefined, options: RulesOptions = {}): Rules {
  if (path === undefined) return compileRules('default', JSON.stringify(defaultSchema, null, 2), options);
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
    warn: (...args: unknown[]) => warnings.push(args.map(String).join(' ')),
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
  let fast: ValidateFunction;
  /** null until first asked for. */
  let fastAccept: FastAccept | undefined | null = null;
  const unknownFormats: string[] = [];
  /** A fresh ajv for these rules: the draft, ajv-formats' full mode, and the unknown formats accepted. */
  const ajvFor = (allErrors: boolean, log: Options['logger'] = logger): Ajv => {
    const a = make({ ...base, allErrors, logger: log });
    addFormats(a, { mode: 'full' });
    for (const f of unknownFormats) a.addFormat(f, true);
    return a;
  };
  let fastAjv: Ajv;
  try {
    fastAjv = ajvFor(false);
    // ajv throws on an unknown format even when asked only to log; accept any value for it, and say so.
    for (let attempt = 0; ; attempt++) {
      try {
        fast = fastAjv.compile(s);
        break;
      } catch (err) {
        const m = /^unknown format "(.*)" ignored in schema/.exec((err as Error).message);
        if (!m || attempt > 100) throw err;
        warnings.push(`unknown format "${m[1]}": not checked`);
        unknownFormats.push(m[1]);
        fastAjv.addFormat(m[1], true);
      }
    }
  } catch (err) {
    throw new SchemaError(origin, describeCompileError(err as Error));
  }
  // The same format checks ajv applies, unknown formats included (accepted as `true`). Only a
  // speed-up: if building it fails, every line takes the exact path. Built on first use: the main
  // thread only checks the rules, and a 600 KB schema's fast path is seconds and megabytes of code.
  const fastOptions: FastPathOptions = { draft: draftOf(make), isKeyword: (k) => fastAjv.getKeyword(k) !== false };
  const buildFast = <T>(compile: typeof compileFastAccept | typeof compileFastCheck): T | undefined => {
    try {
      return compile(s, fastAjv.formats as Record<string, FormatDef | undefined>, fastOptions) as T | undefined;
    } catch {
      return undefined;
    }
  };
  const maxErrors = options.maxErrorsPerLine ?? DEFAULT_MAX_ERRORS_PER_LINE;
  // Built on the first rejected line: a clean file never pays for compiling the explanation.
  let explainer: Explain | null | undefined;
  const quiet: Options['logger'] = { log() {}, warn() {}, error() {} };
  return {
    origin,
    text,
    hash: createHash('sha256').update(text).digest('hex'),
    warnings: [...new Set(warnings)],
    get fastAccept() {
      if (fastAccept === null) fastAccept = buildFast<FastAccept>(compileFastAccept);
      return fastAccept;
    },
    fastCheck: () => buildFast<FastCheck>(compileFastCheck),
    maxErrorsPerLine: maxErrors,
    isValid: (data) => fast(data) as boolean,
    explain: (data) => {
      if (explainer === undefined) {
        try {
          explainer = makeExplainer(s, (allErrors) => ajvFor(allErrors, quiet), make === DRAFTS[0].make ? 'id' : '$id');
        } catch {
          explainer = null;
        }
      }
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
        fast(data);
        errors = fast.errors ?? [];
      }
      return { errors: errors.slice(0, maxErrors).map(toViolation), total: errors.length };
    },
  };
}

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
