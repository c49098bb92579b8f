-- Objects a run listed but did not clean because of its selection: `excluded` by an --include/
-- --exclude filter, `markers` (zero-byte objects, _SUCCESS, *.crc, names starting with _ or .).
-- They get no row in objects or run_objects: a prefix can hold far more of them than events.
ALTER TABLE runs ADD COLUMN excluded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN markers INTEGER NOT NULL DEFAULT 0;
-- Listed objects that belong to other shards (--shard I/N): each shard lists the whole prefix.
ALTER TABLE runs ADD COLUMN other_shards INTEGER NOT NULL DEFAULT 0;
