-- The first schema of cleaner's state. Migrations are append-only: never edit a released file,
-- add 0002_….sql instead. Each file runs in one transaction together with its row in `migrations`.

-- A target is one (source, local dir) pair: objects belong to it, so a later run over the same
-- source and local dir sees what earlier runs finished and skips it.
CREATE TABLE runs (
  id            INTEGER PRIMARY KEY,
  target        TEXT    NOT NULL,
  kind          TEXT    NOT NULL CHECK (kind IN ('s3', 'local')),
  source        TEXT    NOT NULL,          -- s3://bucket/prefix or an absolute directory
  bucket        TEXT,
  prefix        TEXT,
  endpoint      TEXT,
  region        TEXT,
  local_dir     TEXT    NOT NULL,          -- absolute
  schema_origin TEXT    NOT NULL,          -- the path given, or 'default'
  schema_text   TEXT    NOT NULL,          -- kept so resume applies exactly the same rules
  schema_hash   TEXT    NOT NULL,
  options       TEXT    NOT NULL DEFAULT '{}',  -- JSON: concurrency, max line bytes, ...
  state         TEXT    NOT NULL CHECK (state IN ('running', 'done', 'failed', 'interrupted')),
  listed        INTEGER NOT NULL DEFAULT 0 CHECK (listed IN (0, 1)),
  started_at    TEXT    NOT NULL,
  finished_at   TEXT,
  exit_code     INTEGER,
  message       TEXT
);
CREATE INDEX runs_target ON runs (target, id);

-- The current state of each object of a target. Counters and lengths are those of the last
-- committed checkpoint: after a crash, outputs are truncated back to out_len / err_len.
CREATE TABLE objects (
  id                  INTEGER PRIMARY KEY,
  target              TEXT    NOT NULL,
  key                 TEXT    NOT NULL,
  rel_path            TEXT    NOT NULL,    -- encoded, safe path under input/, output/, errors/
  etag                TEXT    NOT NULL,    -- opaque: compared, never parsed
  size                INTEGER NOT NULL,
  gz                  INTEGER NOT NULL CHECK (gz IN (0, 1)),
  state               TEXT    NOT NULL CHECK (state IN
                        ('listed', 'downloading', 'downloaded', 'cleaning', 'publishing', 'done', 'failed', 'gone')),
  downloaded_bytes    INTEGER NOT NULL DEFAULT 0,
  clean_offset        INTEGER NOT NULL DEFAULT 0,  -- decompressed input offset of the next line
  out_len             INTEGER NOT NULL DEFAULT 0,
  err_len             INTEGER NOT NULL DEFAULT 0,
  lines               INTEGER NOT NULL DEFAULT 0,
  valid               INTEGER NOT NULL DEFAULT 0,
  rejected            INTEGER NOT NULL DEFAULT 0,
  blank               INTEGER NOT NULL DEFAULT 0,
  by_reason           TEXT    NOT NULL DEFAULT '{}',
  input_bytes         INTEGER NOT NULL DEFAULT 0,  -- decompressed bytes cleaned
  clean_schema_hash   TEXT,                -- rules of the clean in progress (its checkpoint is void under others)
  done_etag           TEXT,                -- what the published output was cleaned from
  done_schema_hash    TEXT,
  attempts            INTEGER NOT NULL DEFAULT 0,  -- failed attempts on this etag
  error               TEXT,
  last_run_id         INTEGER REFERENCES runs (id),
  download_ms         INTEGER NOT NULL DEFAULT 0,
  clean_ms            INTEGER NOT NULL DEFAULT 0,
  UNIQUE (target, key),
  UNIQUE (target, rel_path)
);
CREATE INDEX objects_run ON objects (last_run_id, state);

-- What each run did with each object, frozen when the object is finished for that run, so the
-- figures of an old run survive a later run that cleans the same object again.
CREATE TABLE run_objects (
  run_id      INTEGER NOT NULL REFERENCES runs (id),
  object_id   INTEGER NOT NULL REFERENCES objects (id),
  action      TEXT    NOT NULL CHECK (action IN ('process', 'skip')),
  reason      TEXT    NOT NULL,            -- new, changed, schema_changed, unfinished, retry, unchanged
  outcome     TEXT    CHECK (outcome IN ('done', 'failed', 'gone', 'skipped')),
  lines       INTEGER NOT NULL DEFAULT 0,
  valid       INTEGER NOT NULL DEFAULT 0,
  rejected    INTEGER NOT NULL DEFAULT 0,
  blank       INTEGER NOT NULL DEFAULT 0,
  by_reason   TEXT    NOT NULL DEFAULT '{}',
  bytes       INTEGER NOT NULL DEFAULT 0,
  error       TEXT,
  PRIMARY KEY (run_id, object_id)
);

-- At most one process works on a state database at a time; a dead holder's row is taken over.
CREATE TABLE lock (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  pid        INTEGER NOT NULL,
  host       TEXT    NOT NULL,
  command    TEXT    NOT NULL,
  since      TEXT    NOT NULL
);
