/**
 * Loads into PostgreSQL with COPY FROM STDIN (pg + pg-copy-streams), one transaction per object.
 * A line the server refuses (a data error at "COPY t, line N") is taken out and the rest is sent
 * again: the COPY restarts after it and the good lines before it are sent once more, so each line
 * travels at most twice however many are refused.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { cellText, fallbackCells, FIXED, makeValueFinder, quoteIdent, tableDifferences, type Column, type ColumnKind } from './columns.js';
import { CopyText, escapeText } from './copy-text.js';
import { QUOTE } from '../validate/json-scan.js';
import { readLineBatches, readLines } from './lines.js';
import { REJECT_COLUMNS, refusalRecord, rejectRow, tableNames, type TableNames } from './table-name.js';
import type { LedgerRow, LoadTarget, ObjectLoad, ObjectToLoad, Refusal } from './target.js';
import { LoadError } from './errors.js';

/** How PostgreSQL spells each kind, as information_schema.columns.data_type reports it. */
const PG_TYPE: Record<ColumnKind, string> = {
  uuid: 'uuid',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  bigint: 'bigint',
  double: 'double precision',
  boolean: 'boolean',
  json: 'jsonb',
  text: 'text',
};

/** COPY sends this much at a time: big enough that a write is not per row. */
const CHUNK_BYTES = 1 << 20;

const TAB = 0x09;
const NULL_CELL = Buffer.from('\\N');

/** Whether a JSON string's body has a backslash (short: a loop beats indexOf's call). */
function hasEscape(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] === 0x5c) return true;
  return false;
}

/**
 * Writes one line as a row: its typed columns' values, the line whole as `data`, then `tail`
 * (provenance up to the line number) and the number. A value is copied from the line's bytes when
 * its text is its JSON (numbers, true/false, a string without escapes, JSON); only a string with
 * escapes, or an integer written like 1e3, is decoded (cellText), as the extractor always did.
 */
export function makeRowWriter(cols: readonly Column[]): (out: CopyText, line: Buffer, tail: Buffer, no: number, end: Buffer) => void {
  const find = makeValueFinder(cols);
  const kinds = cols.map((c) => c.kind);
  return (out, b, tail, no, end) => {
    const spans = find(b);
    if (spans) {
      for (let k = 0; k < kinds.length; k++) {
        const from = spans[2 * k];
        const to = spans[2 * k + 1];
        if (from < 0 || (to - from === 4 && b[from] === 0x6e)) out.raw(NULL_CELL);
        else if (kinds[k] === 'json') out.bytes(b, from, to);
        else if (b[from] === QUOTE) {
          if (hasEscape(b, from + 1, to - 1)) out.text(JSON.parse(b.toString('utf8', from, to)) as string);
          else out.bytes(b, from + 1, to - 1);
        } else if (kinds[k] === 'bigint') out.text(cellText('bigint', b.toString('latin1', from, to))!);
        else out.bytes(b, from, to); // a number, true/false, or (in a line the rules let through) an object or array
        out.byte(TAB);
      }
    } else {
      for (const v of fallbackCells(b, cols)) {
        if (v === null) out.raw(NULL_CELL);
        else out.text(v);
        out.byte(TAB);
      }
    }
    out.bytes(b);
    out.raw(tail);
    out.ascii(String(no));
    out.raw(end);
  };
}

/** The line of a COPY the server refused, from the error's context ("COPY t, line 3, column x: …"). */
function refusedLine(err: unknown): { line: number; message: string } | undefined {
  const e = err as { code?: string; where?: string; message?: string };
  // Class 22 is data exceptions (bad syntax, out of range, bad encoding), 23 constraint violations.
  if (typeof e.code !== 'string' || !/^2[23]/.test(e.code) || typeof e.where !== 'string') return undefined;
  const m = /COPY [^,]+, line (\d+)(?:, column ([^:]+))?/.exec(e.where);
  if (!m) return undefined;
  return { line: Number(m[1]), message: m[2] ? `${e.message} (column ${m[2]})` : String(e.message) };
}

export class PostgresTarget implements LoadTarget {
  private copySql = '';
  private withRejects = false;
  private writeRow: ReturnType<typeof makeRowWriter> = () => {};
  private readonly names: TableNames;

  private constructor(
    private readonly client: pg.Client,
    table: string,
  ) {
    this.names = tableNames(table);
  }

  /** Connects; the password comes from the URL, else PGPASSWORD or ~/.pgpass (pg reads both). */
  static async open(url: string, table: string): Promise<PostgresTarget> {
    const client = new pg.Client({ connectionString: url, application_name: 'cleaner' });
    // A server that goes away between queries must not crash the process: the next query fails instead.
    client.on('error', () => {});
    await client.connect();
    return new PostgresTarget(client, table);
  }

  async prepare(cols: readonly Column[], withRejects: boolean): Promise<void> {
    const n = this.names;
    const all = [...cols, ...FIXED];
    this.withRejects = withRejects;
    this.writeRow = makeRowWriter(cols);
    this.copySql = `COPY ${n.table} (${all.map((c) => quoteIdent(c.name)).join(', ')}) FROM STDIN`;
    const c = this.client;
    if (n.schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(n.schema)}`);
    const have = await this.columnsOf(n.name);
    if (have.length === 0) {
      await c.query(`CREATE TABLE IF NOT EXISTS ${n.table} (${all.map((col) => `${quoteIdent(col.name)} ${PG_TYPE[col.kind]}`).join(', ')})`);
    } else {
      const problems = tableDifferences(all, have, (k) => PG_TYPE[k]);
      if (problems.length) throw new LoadError(`table ${n.given} exists and does not fit the rules: ${problems.join('; ')} (load into another --table, or alter it)`);
    }
    // Replacing an object's rows deletes by _source.
    await c.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`${n.name}__source`)} ON ${n.table} (_source)`);
    await c.query(
      `CREATE TABLE IF NOT EXISTS ${n.ledger} (
         table_name text NOT NULL, source text NOT NULL, etag text NOT NULL, rules_hash text NOT NULL,
         rows bigint NOT NULL, refused bigint NOT NULL, run_id bigint NOT NULL, loaded_at timestamptz NOT NULL,
         PRIMARY KEY (table_name, source))`,
    );
    if (withRejects) {
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${n.rejects} (_source text, _etag text, _run_id bigint, line bigint, reason text, message text, record json)`,
      );
      await c.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`${n.name}_rejects__source`)} ON ${n.rejects} (_source)`);
    }
  }

  private async columnsOf(name: string): Promise<Array<{ name: string; type: string; required: boolean }>> {
    const r = await this.client.query(
      `SELECT column_name, data_type, is_nullable = 'NO' AND column_default IS NULL AS required
       FROM information_schema.columns WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
      [this.names.schema ?? null, name],
    );
    return r.rows.map((row) => ({ name: row.column_name as string, type: row.data_type as string, required: row.required as boolean }));
  }

  async ledger(sources: string[]): Promise<Map<string, LedgerRow>> {
    const r = await this.client.query(`SELECT source, etag, rules_hash FROM ${this.names.ledger} WHERE table_name = $1 AND source = ANY($2)`, [this.names.given, sources]);
    return new Map(r.rows.map((row) => [row.source as string, { etag: row.etag as string, rules_hash: row.rules_hash as string }]));
  }

  async load(obj: ObjectToLoad): Promise<ObjectLoad> {
    const c = this.client;
    const n = this.names;
    await c.query('BEGIN');
    try {
      // Two loaders of the same object wait for each other; the second then finds the ledger row.
      await c.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${n.given}|${obj.source}`]);
      const led = await c.query(`SELECT etag, rules_hash FROM ${n.ledger} WHERE table_name = $1 AND source = $2`, [n.given, obj.source]);
      if (led.rows[0]?.etag === obj.etag && led.rows[0]?.rules_hash === obj.rulesHash) {
        await c.query('ROLLBACK');
        return { skipped: true, rows: 0, refused: [] };
      }
      await c.query(`DELETE FROM ${n.table} WHERE _source = $1`, [obj.source]);
      const { rows, refused } = await this.copyObject(obj);
      if (this.withRejects) await this.copyRejects(obj, refused);
      await c.query(
        `INSERT INTO ${n.ledger} (table_name, source, etag, rules_hash, rows, refused, run_id, loaded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())
         ON CONFLICT (table_name, source) DO UPDATE SET etag = excluded.etag, rules_hash = excluded.rules_hash, rows = excluded.rows,
           refused = excluded.refused, run_id = excluded.run_id, loaded_at = excluded.loaded_at`,
        [n.given, obj.source, obj.etag, obj.rulesHash, rows, refused.length, obj.runId],
      );
      await c.query('COMMIT');
      return { skipped: false, rows, refused };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  /** COPYs every line the server accepts; the refused ones come back with the server's message. */
  private async copyObject(obj: ObjectToLoad): Promise<{ rows: number; refused: Refusal[] }> {
    const c = this.client;
    const tail = Buffer.from(`\t${escapeText(obj.source)}\t${escapeText(obj.etag)}\t`);
    const end = Buffer.from(`\t${obj.runId}\n`);
    const writeRow = this.writeRow;
    /** COPYs lines from..to-1 (to: Infinity for the rest); `stopped` gets the line at `to`. */
    const copyRange = async (from: number, to: number, stopped?: (b: Buffer) => void): Promise<number> => {
      let sent = 0;
      async function* chunks(): AsyncGenerator<Buffer> {
        const out = new CopyText(CHUNK_BYTES * 2);
        read: for await (const batch of readLineBatches(obj.output, from, obj.gz)) {
          for (const l of batch) {
            if (l.no >= to) {
              stopped?.(Buffer.from(l.bytes));
              break read;
            }
            writeRow(out, l.bytes, tail, l.no, end);
            sent++;
          }
          if (out.length >= CHUNK_BYTES) yield out.take();
        }
        if (out.length > 0) yield out.take();
      }
      await pipeline(Readable.from(chunks()), c.query(copyFrom(this.copySql)));
      return sent;
    };
    const refused: Refusal[] = [];
    let rows = 0;
    let from = 1;
    for (;;) {
      await c.query('SAVEPOINT cleaner_copy');
      try {
        rows += await copyRange(from, Infinity);
        await c.query('RELEASE SAVEPOINT cleaner_copy');
        return { rows, refused };
      } catch (err) {
        const bad = refusedLine(err);
        if (!bad) throw err;
        await c.query('ROLLBACK TO SAVEPOINT cleaner_copy');
        const line = from + bad.line - 1;
        let bytes: Buffer = Buffer.alloc(0);
        rows += await copyRange(from, line, (b) => (bytes = b));
        await c.query('RELEASE SAVEPOINT cleaner_copy');
        refused.push({ line, message: bad.message, bytes });
        from = line + 1;
      }
    }
  }

  /** Replaces the object's rows in the rejects table: its errors/ records and the refused lines. */
  private async copyRejects(obj: ObjectToLoad, refused: Refusal[]): Promise<void> {
    const c = this.client;
    await c.query(`DELETE FROM ${this.names.rejects} WHERE _source = $1`, [obj.source]);
    const head = `${escapeText(obj.source)}\t${escapeText(obj.etag)}\t${obj.runId}\t`;
    const row = (text: string) => {
      const r = rejectRow(text);
      const cell = (v: string | number | null) => (v === null ? '\\N' : escapeText(String(v)));
      return Buffer.from(`${head}${cell(r.line)}\t${cell(r.reason)}\t${cell(r.message)}\t${escapeText(text)}\n`);
    };
    const errors = obj.errors;
    async function* chunks(): AsyncGenerator<Buffer> {
      if (errors) for await (const l of readLines(errors, 1, obj.gz)) if (l.bytes.length) yield row(l.bytes.toString('utf8'));
      for (const f of refused) yield row(refusalRecord(obj.source, obj.etag, f.line, f.message, f.bytes));
    }
    await pipeline(Readable.from(chunks()), c.query(copyFrom(`COPY ${this.names.rejects} (${REJECT_COLUMNS.map(quoteIdent).join(', ')}) FROM STDIN`)));
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => {});
  }
}
