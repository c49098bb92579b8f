-- Load refusals (issue 13): how many lines of the object's output the database refused in its
-- latest load (the records are in load-refused/<path>), rewritten by every load of the object, so
-- `cleaner status` sums a column instead of reading every load-refused/ file on each call.
-- A state migrated from before this counts 0 for objects until they are loaded again.
ALTER TABLE objects ADD COLUMN load_refused INTEGER NOT NULL DEFAULT 0;
