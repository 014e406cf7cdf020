-- 0006: MinHash signatures now hash each shingle with CRC-32 (they hashed it with SHA-1), so a
-- stored signature or band can no longer be compared with a new one: both are dropped, not
-- recomputed (Postgres cannot; the state is internal to grouping). For one story window after
-- the upgrade, an article grouped before it is no copy's original: a copy of it still joins its
-- story by its terms (a copy's cosine is ~1), only without duplicate_of.
TRUNCATE grouping_bands;
UPDATE grouping_articles SET signature = NULL WHERE signature IS NOT NULL;
