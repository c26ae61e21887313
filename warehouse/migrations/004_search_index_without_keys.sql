-- 004: the search index tables without primary keys.
--
-- DuckDB keeps a primary key as an ART index and loads it into memory to check every insert and
-- at commit. `study_terms` holds ~100 rows per study, so its key was most of the database file
-- and, at 50,000 studies, ~400 MB of memory whenever a batch touched it. The loader never needed
-- it: it deletes a study's rows and inserts them again, grouped by (study_id, field, term), in
-- the batch's transaction (scraper.load._REINDEX_TERMS), so the rows stay unique without it.
-- DuckDB cannot drop a constraint: each table is copied into one without it, under its old name.

CREATE TABLE study_terms_unkeyed (
    study_id VARCHAR NOT NULL,
    field    VARCHAR NOT NULL,   -- title | tldr | summary
    term     VARCHAR NOT NULL,
    tf       INTEGER NOT NULL    -- unique per (study_id, field, term), kept so by the loader
);
INSERT INTO study_terms_unkeyed SELECT study_id, field, term, tf FROM study_terms;
DROP TABLE study_terms;
ALTER TABLE study_terms_unkeyed RENAME TO study_terms;

CREATE TABLE study_field_lengths_unkeyed (
    study_id VARCHAR NOT NULL,
    field    VARCHAR NOT NULL,
    length   INTEGER NOT NULL    -- unique per (study_id, field), kept so by the loader
);
INSERT INTO study_field_lengths_unkeyed SELECT study_id, field, length FROM study_field_lengths;
DROP TABLE study_field_lengths;
ALTER TABLE study_field_lengths_unkeyed RENAME TO study_field_lengths;
