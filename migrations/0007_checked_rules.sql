-- Rules a run of this state checked before it began (issue 10). Checking large rules compiles them
-- whole with ajv (about 1-2 s of CPU for GitHub's 600 KB webhook schema) while every clean thread
-- waits; the verdict depends only on the rules' text and on the program that checked them, so a
-- later run of the same text under the same program takes it from here, with the warnings the check
-- gave (they are printed again by each run).
CREATE TABLE checked_rules (
  schema_hash TEXT NOT NULL,   -- sha256 of the rules' text, as runs.schema_hash
  checker     TEXT NOT NULL,   -- the versions of cleaner, ajv and ajv-formats that checked them
  warnings    TEXT NOT NULL,   -- JSON array of the check's warnings
  checked_at  TEXT NOT NULL,
  PRIMARY KEY (schema_hash, checker)
);
