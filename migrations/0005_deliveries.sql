-- Delivery of clean files to an S3 destination (--dest). Kept apart from `objects`: an object is
-- done when its local files are published; its delivery to a destination is a second, resumable
-- stage that may target several destinations over time.

-- One row per object and destination: what was (or is being) put there.
CREATE TABLE deliveries (
  object_id    INTEGER NOT NULL REFERENCES objects (id),
  dest         TEXT    NOT NULL,            -- s3://bucket/prefix/ (normalised, ends with /)
  etag         TEXT    NOT NULL,            -- the source ETag the delivered files were cleaned from
  schema_hash  TEXT    NOT NULL,            -- the rules they were cleaned under
  quarantined  INTEGER NOT NULL CHECK (quarantined IN (0, 1)),  -- main file under quarantine/, not output/
  state        TEXT    NOT NULL CHECK (state IN ('uploading', 'delivered')),
  how          TEXT    NOT NULL DEFAULT 'uploaded' CHECK (how IN ('uploaded', 'found')),  -- found: already there, state was lost
  files        TEXT    NOT NULL DEFAULT '{}',  -- JSON: bytes of each file at the destination, e.g. {"errors":120,"output":5000}
  run_id       INTEGER NOT NULL REFERENCES runs (id),  -- the run that delivered (or is delivering) it
  delivered_at TEXT,
  PRIMARY KEY (object_id, dest)
);
CREATE INDEX deliveries_run ON deliveries (run_id, state);

-- Each file of a delivery in progress: small files are one PUT, larger ones a multipart upload
-- whose id is kept so a crash resumes it at the next part.
CREATE TABLE delivery_files (
  object_id  INTEGER NOT NULL,
  dest       TEXT    NOT NULL,
  kind       TEXT    NOT NULL CHECK (kind IN ('output', 'quarantine', 'errors')),
  size       INTEGER NOT NULL,              -- bytes of the local file being uploaded
  part_size  INTEGER NOT NULL DEFAULT 0,    -- 0 for a single PUT
  upload_id  TEXT,                          -- the multipart upload, while open
  done       INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
  PRIMARY KEY (object_id, dest, kind),
  FOREIGN KEY (object_id, dest) REFERENCES deliveries (object_id, dest) ON DELETE CASCADE
);

-- Completed parts of open multipart uploads, committed as each finishes.
CREATE TABLE delivery_parts (
  object_id   INTEGER NOT NULL,
  dest        TEXT    NOT NULL,
  kind        TEXT    NOT NULL,
  part_number INTEGER NOT NULL,
  etag        TEXT    NOT NULL,
  PRIMARY KEY (object_id, dest, kind, part_number),
  FOREIGN KEY (object_id, dest, kind) REFERENCES delivery_files (object_id, dest, kind) ON DELETE CASCADE
);
