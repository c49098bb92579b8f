-- Quality gates and per-rule figures for reports.

-- Rejects by rule ("<JSON pointer> <keyword>", or the reason for non-schema rejects) with a few
-- example line references: {"/timestamp format": {"count": 3, "examples": [{"line": 4, "offset": 1777}]}}.
ALTER TABLE objects ADD COLUMN by_rule TEXT NOT NULL DEFAULT '{}';
ALTER TABLE run_objects ADD COLUMN by_rule TEXT NOT NULL DEFAULT '{}';

-- 1 when the object's output went to quarantine/ instead of output/.
ALTER TABLE objects ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0 CHECK (quarantined IN (0, 1));
ALTER TABLE run_objects ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0 CHECK (quarantined IN (0, 1));

-- The gate's settings and verdict for the run: {"max_error_rate": 0.05, "max_rejects": null,
-- "breached": true, "reasons": [...], "objects": [...]}.
ALTER TABLE runs ADD COLUMN gate TEXT;
