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
