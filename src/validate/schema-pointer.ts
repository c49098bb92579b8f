/**
 * Where a `$ref` inside the rules document points: "#" and "#/…" JSON pointers only, read the way
 * the fast path (fast-path.ts), its branch guards (branch-guard.ts) and the explainer (explain.ts) need.
 */

/** What pointerTarget answers when a pointer names nothing it may follow. */
export const NOT_FOUND = Symbol('not found');

/**
 * The subschema that the pointer `ref` ("#" or "#/…") names in `root`, or NOT_FOUND when it names
 * none, or (given `idKey`) when the walk passes through a subschema with its own id: that changes the
 * base URI, which is ajv's business.
 */
export function pointerTarget(root: unknown, ref: string, idKey?: string): unknown {
  let at: unknown = root;
  if (ref === '#') return at;
  for (const raw of ref.slice(2).split('/')) {
    let key: string;
    try {
      key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return NOT_FOUND;
    }
    if (at === null || typeof at !== 'object' || !Object.hasOwn(at, key)) return NOT_FOUND;
    at = (at as Record<string, unknown>)[key];
    if (idKey !== undefined && at !== null && typeof at === 'object' && typeof (at as Record<string, unknown>)[idKey] === 'string') return NOT_FOUND;
  }
  return at;
}

/** Keywords that assert nothing (draft-04 to 2020-12). */
export const ANNOTATIONS = ['title', 'description', '$comment', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly'];
/** Keywords that never change a verdict (containers of definitions included). */
export const INERT = new Set([...ANNOTATIONS, '$schema', 'definitions', '$defs', '$anchor']);
/** What may stand beside a root's `$ref` without judging anything: the inert keywords and ids. */
const BESIDE_ROOT_REF = new Set([...INERT, '$id', 'id']);

/**
 * The pointer ("#" or "#/…") to the subschema that judges a line's root object alone: the root
 * itself, or where its `$ref` leads when nothing beside that `$ref` asserts anything (rules written
 * as `{"$ref": "#/definitions/Event", "definitions": …}`), hop after hop, never into a subschema
 * with its own id. The fast path (fast-path.ts) and the explainer (explain.ts) both read the
 * root's members there, so they agree on it.
 */
export function lineRootPointer(root: unknown, idKey: string): string {
  let at = '#';
  let node = root;
  for (let hops = 0; hops < 32; hops++) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) break;
    const ref = (node as Record<string, unknown>).$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/') || !Object.keys(node).every((k) => k === '$ref' || BESIDE_ROOT_REF.has(k))) break;
    const next = pointerTarget(root, ref, idKey);
    if (next === NOT_FOUND || next === null || typeof next !== 'object' || Array.isArray(next)) break;
    at = ref;
    node = next;
  }
  return at;
}
