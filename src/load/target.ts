/** What every load target does, so the load stage does not care which database it writes to. */
import type { Column } from './columns.js';

/** One published object to load. */
export interface ObjectToLoad {
  /** The object's name in rows and in the ledger: s3://bucket/key, or the local file's path. */
  source: string;
  etag: string;
  rulesHash: string;
  runId: number;
  /** The published output file (valid lines). */
  output: string;
  /** The published reject records, loaded into `<table>_rejects` when asked. */
  errors?: string;
  /** Whether both files are gzip (a .gz object's outputs are). */
  gz: boolean;
}

/** A line of the output the database would not store, with its message. */
export interface Refusal {
  /** The line's number in the output file (from 1). */
  line: number;
  message: string;
  bytes: Buffer;
}

/** What loading one object did; `skipped` when the ledger already held this version. */
export interface ObjectLoad {
  skipped: boolean;
  rows: number;
  refused: Refusal[];
}

/** The ledger's row for one object. */
export interface LedgerRow {
  etag: string;
  rules_hash: string;
}

export interface LoadTarget {
  /** Creates the table (and ledger) when absent; refuses an existing table that does not fit. */
  prepare(cols: readonly Column[], withRejects: boolean): Promise<void>;
  /** The ledger's rows for these sources (a quick look; load() checks again in its transaction). */
  ledger(sources: string[]): Promise<Map<string, LedgerRow>>;
  /**
   * Replaces the rows of the object's earlier versions with this one's and records it in the
   * ledger, all in one transaction: after a crash either all of it is there or none.
   */
  load(obj: ObjectToLoad): Promise<ObjectLoad>;
  close(): Promise<void>;
}

/** The ledger table's name, beside the table. */
export const LEDGER = 'cleaner_loads';
