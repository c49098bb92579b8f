/**
 * Loads into an embedded DuckDB file. Lines go through a temporary staging table of text (the
 * appender, fast and untyped), then one transaction replaces the object's rows with the staged
 * lines cast to their columns and records the ledger row. A line whose values DuckDB cannot cast
 * is refused with the message of that cast.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { FIXED, makeExtractor, quoteIdent, tableDifferences, type Column, type ColumnKind } from './columns.js';
import { readLines } from './lines.js';
import { REJECT_COLUMNS, refusalRecord, rejectRow, tableNames, type TableNames } from './table-name.js';
import type { LedgerRow, LoadTarget, ObjectLoad, ObjectToLoad, Refusal } from './target.js';
import { LoadError } from './errors.js';

/** How DuckDB spells each kind, as information_schema.columns.data_type reports it. */
const DUCK_TYPE: Record<ColumnKind, string> = {
  uuid: 'UUID',
  timestamptz: 'TIMESTAMP WITH TIME ZONE',
  date: 'DATE',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  json: 'JSON',
  text: 'VARCHAR',
};

const STAGE = 'cleaner_stage';

export class DuckDbTarget implements LoadTarget {
  private cols: readonly Column[] = [];
  private withRejects = false;
  private extract: (line: Buffer) => Array<string | null> = () => [];
  private readonly names: TableNames;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly db: DuckDBConnection,
    table: string,
  ) {
    this.names = tableNames(table);
  }

  static async open(path: string, table: string): Promise<DuckDbTarget> {
    const instance = await DuckDBInstance.create(path);
    return new DuckDbTarget(instance, await instance.connect(), table);
  }

  /** The staged columns, in order: each typed column's text, then the event. */
  private staged(): Array<{ stage: string; kind: ColumnKind }> {
    return [...this.cols.map((c, i) => ({ stage: `c${i}`, kind: c.kind })), { stage: 'data', kind: 'json' as const }];
  }

  /** True for a staged row some value of which does not cast to its column. */
  private refusedSql(): string {
    return this.staged()
      .map((s) => `(${s.stage} IS NOT NULL AND TRY_CAST(${s.stage} AS ${DUCK_TYPE[s.kind]}) IS NULL)`)
      .join(' OR ');
  }

  async prepare(cols: readonly Column[], withRejects: boolean): Promise<void> {
    const n = this.names;
    const all = [...cols, ...FIXED];
    this.cols = cols;
    this.withRejects = withRejects;
    this.extract = makeExtractor(cols);
    if (n.schema) await this.db.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(n.schema)}`);
    const have = (
      await this.db.runAndReadAll(
        `SELECT column_name, data_type, is_nullable = 'NO' AND column_default IS NULL AS required FROM information_schema.columns
         WHERE table_schema = COALESCE($1, current_schema()) AND table_name = $2 ORDER BY ordinal_position`,
        [n.schema ?? null, n.name],
      )
    )
      .getRows()
      .map(([name, type, required]) => ({ name: String(name), type: String(type), required: required === true }));
    if (have.length === 0) {
      await this.db.run(`CREATE TABLE ${n.table} (${all.map((c) => `${quoteIdent(c.name)} ${DUCK_TYPE[c.kind]}`).join(', ')})`);
    } else {
      const problems = tableDifferences(all, have, (k) => DUCK_TYPE[k]);
      if (problems.length) throw new LoadError(`table ${n.given} exists and does not fit the rules: ${problems.join('; ')} (load into another --table, or alter it)`);
    }
    await this.db.run(
      `CREATE TABLE IF NOT EXISTS ${n.ledger} (table_name VARCHAR NOT NULL, source VARCHAR NOT NULL, etag VARCHAR NOT NULL, rules_hash VARCHAR NOT NULL,
         rows BIGINT NOT NULL, refused BIGINT NOT NULL, run_id BIGINT NOT NULL, loaded_at TIMESTAMP WITH TIME ZONE NOT NULL, PRIMARY KEY (table_name, source))`,
    );
    if (withRejects) {
      await this.db.run(`CREATE TABLE IF NOT EXISTS ${n.rejects} (_source VARCHAR, _etag VARCHAR, _run_id BIGINT, line BIGINT, reason VARCHAR, message VARCHAR, record JSON)`);
    }
    await this.db.run(`CREATE OR REPLACE TEMP TABLE ${STAGE} (line BIGINT, ${this.staged().map((s) => `${s.stage} VARCHAR`).join(', ')})`);
  }

  async ledger(sources: string[]): Promise<Map<string, LedgerRow>> {
    const out = new Map<string, LedgerRow>();
    if (sources.length === 0) return out;
    const r = await this.db.runAndReadAll(
      `SELECT source, etag, rules_hash FROM ${this.names.ledger} WHERE table_name = $1 AND source IN (${sources.map((_, i) => `$${i + 2}`).join(', ')})`,
      [this.names.given, ...sources],
    );
    for (const [source, etag, rules_hash] of r.getRows()) out.set(String(source), { etag: String(etag), rules_hash: String(rules_hash) });
    return out;
  }

  async load(obj: ObjectToLoad): Promise<ObjectLoad> {
    const n = this.names;
    const led = (await this.ledger([obj.source])).get(obj.source);
    if (led?.etag === obj.etag && led.rules_hash === obj.rulesHash) return { skipped: true, rows: 0, refused: [] };
    await this.stage(obj);
    const refused = await this.refusals(obj);
    const typed = this.cols.map((c, i) => `TRY_CAST(c${i} AS ${DUCK_TYPE[c.kind]})`);
    await this.db.run('BEGIN TRANSACTION');
    try {
      await this.db.run(`DELETE FROM ${n.table} WHERE _source = $1`, [obj.source]);
      const ins = await this.db.run(
        `INSERT INTO ${n.table} SELECT ${[...typed, 'TRY_CAST(data AS JSON)', '$1', '$2', 'line', '$3'].join(', ')} FROM ${STAGE} WHERE NOT (${this.refusedSql()})`,
        [obj.source, obj.etag, obj.runId],
      );
      const rows = Number(ins.rowsChanged);
      if (this.withRejects) await this.loadRejects(obj, refused);
      await this.db.run(`INSERT OR REPLACE INTO ${n.ledger} VALUES ($1, $2, $3, $4, $5, $6, $7, now())`, [
        n.given,
        obj.source,
        obj.etag,
        obj.rulesHash,
        rows,
        refused.length,
        obj.runId,
      ]);
      await this.db.run('COMMIT');
      return { skipped: false, rows, refused };
    } catch (err) {
      await this.db.run('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      await this.db.run(`DELETE FROM ${STAGE}`);
    }
  }

  /** Appends the object's lines to the staging table as text. */
  private async stage(obj: ObjectToLoad): Promise<void> {
    await this.db.run(`DELETE FROM ${STAGE}`);
    const app = await this.db.createAppender(STAGE, 'main', 'temp');
    try {
      for await (const l of readLines(obj.output)) {
        app.appendBigInt(BigInt(l.no));
        for (const v of this.extract(l.bytes)) v === null ? app.appendNull() : app.appendVarchar(v);
        app.appendVarchar(l.bytes.toString('utf8'));
        app.endRow();
      }
      app.flushSync();
    } finally {
      app.closeSync();
    }
  }

  /** The staged lines that would not cast, each with DuckDB's message for its first bad value. */
  private async refusals(obj: ObjectToLoad): Promise<Refusal[]> {
    const staged = this.staged();
    const r = await this.db.runAndReadAll(`SELECT line, ${staged.map((s) => s.stage).join(', ')} FROM ${STAGE} WHERE ${this.refusedSql()} ORDER BY line`);
    const out: Refusal[] = [];
    for (const [line, ...values] of r.getRows()) {
      let message = 'refused';
      for (let i = 0; i < staged.length; i++) {
        if (values[i] === null) continue;
        try {
          await this.db.run(`SELECT CAST($1 AS ${DUCK_TYPE[staged[i].kind]})`, [String(values[i])]);
        } catch (err) {
          message = `${(err as Error).message.split('\n')[0]} (column ${i < this.cols.length ? this.cols[i].name : 'data'})`;
          break;
        }
      }
      out.push({ line: Number(line), message, bytes: Buffer.from(String(values[values.length - 1]), 'utf8') });
    }
    return out;
  }

  /** Replaces the object's rows in the rejects table: its errors/ records and the refused lines. */
  private async loadRejects(obj: ObjectToLoad, refused: Refusal[]): Promise<void> {
    await this.db.run(`DELETE FROM ${this.names.rejects} WHERE _source = $1`, [obj.source]);
    const records: string[] = [];
    if (obj.errors) for await (const l of readLines(obj.errors)) if (l.bytes.length) records.push(l.bytes.toString('utf8'));
    for (const f of refused) records.push(refusalRecord(obj.source, obj.etag, f.line, f.message, f.bytes));
    for (const text of records) {
      const r = rejectRow(text);
      await this.db.run(`INSERT INTO ${this.names.rejects} (${REJECT_COLUMNS.map(quoteIdent).join(', ')}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
        obj.source,
        obj.etag,
        obj.runId,
        r.line,
        r.reason,
        r.message,
        text,
      ]);
    }
  }

  async close(): Promise<void> {
    this.db.closeSync();
    this.instance.closeSync();
  }
}
