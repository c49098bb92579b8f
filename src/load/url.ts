/**
 * Where loads go: `postgres://…`/`postgresql://…` or `duckdb:PATH`. A URL's password is a secret:
 * it is never stored with a run, logged or put in an error; resume takes it from PGPASSWORD,
 * ~/.pgpass or the URL given again.
 */

/** A parsed load target. `url` keeps the password (for connecting only); `shown` has none. */
export type LoadUrl = { kind: 'postgres'; url: string; shown: string } | { kind: 'duckdb'; path: string; shown: string };

/** The URL without its password: what a run stores and what messages show. Anything not a URL is left as it is. */
export function withoutPassword(url: string): string {
  if (!/^postgres(ql)?:\/\//i.test(url)) return url;
  try {
    const u = new URL(url);
    if (u.password === '') return url;
    u.password = '';
    return u.toString();
  } catch {
    // Not parseable: show only the scheme, since a password may be anywhere in it.
    return url.replace(/^(postgres(ql)?:\/\/).*$/i, '$1…');
  }
}

/** Parses `--load`; undefined with a reason when it is neither target. */
export function parseLoadUrl(raw: string): LoadUrl | { problem: string } {
  if (/^duckdb:/i.test(raw)) {
    const path = raw.slice('duckdb:'.length).replace(/^\/\//, '');
    if (path === '') return { problem: '--load duckdb:PATH needs a file path, e.g. duckdb:warehouse.duckdb' };
    return { kind: 'duckdb', path, shown: raw };
  }
  if (/^postgres(ql)?:\/\//i.test(raw)) {
    try {
      new URL(raw);
    } catch {
      return { problem: `--load ${withoutPassword(raw)}: not a valid URL` };
    }
    return { kind: 'postgres', url: raw, shown: withoutPassword(raw) };
  }
  return { problem: `--load ${withoutPassword(raw)}: expected postgres://USER@HOST:PORT/DB or duckdb:PATH` };
}
