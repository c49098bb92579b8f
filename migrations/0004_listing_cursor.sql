-- A real lake (issue 11): a listing interrupted by a crash resumes after its last committed page
-- instead of listing a million keys again.
-- The last key of the last listing page whose objects are committed (NULL: nothing listed yet).
-- `excluded` and `markers` are committed with each page, so they count the pages before it.
ALTER TABLE runs ADD COLUMN listed_after TEXT;
