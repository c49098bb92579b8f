/** `--table NAME` or `SCHEMA.NAME`, and the names of the tables that go beside it. */
import { quoteIdent } from './columns.js';
import { LEDGER } from './target.js';

export interface TableNames {
  /** As given, for messages and the ledger's table_name. */
  given: string;
  schema?: string;
  name: string;
  /** Quoted, schema-qualified: the table, its rejects table, and the ledger. */
  table: string;
  rejects: string;
  ledger: string;
}

/** Splits `--table` at its first dot; each part is quoted as it is (case kept). */
export function tableNames(given: string): TableNames {
  const dot = given.indexOf('.');
  const schema = dot > 0 ? given.slice(0, dot) : undefined;
  const name = dot > 0 ? given.slice(dot + 1) : given;
  const q = (n: string) => (schema ? `${quoteIdent(schema)}.${quoteIdent(n)}` : quoteIdent(n));
  return { given, schema, name, table: q(name), rejects: q(`${name}_rejects`), ledger: q(LEDGER) };
}

/** The columns of the rejects table: what a dashboard counts by, and the whole reject record. */
export const REJECT_COLUMNS = ['_source', '_etag', '_run_id', 'line', 'reason', 'message', 'record'] as const;

/** One reject record's row for the rejects table: its line (or output line), reason and message. */
export function rejectRow(recordText: string): { line: number | null; reason: string | null; message: string | null } {
  try {
    const r = JSON.parse(recordText) as Record<string, unknown>;
    const line = typeof r.line === 'number' ? r.line : typeof r.output_line === 'number' ? r.output_line : null;
    return { line, reason: typeof r.reason === 'string' ? r.reason : null, message: typeof r.message === 'string' ? r.message : null };
  } catch {
    return { line: null, reason: null, message: null };
  }
}

/** The reject record of a line the database refused: like errors/ records, with the output line. */
export function refusalRecord(source: string, etag: string, line: number, message: string, bytes: Buffer): string {
  return JSON.stringify({ source, etag, output_line: line, reason: 'load_refused', message, raw: bytes.toString('utf8') });
}
