-- 009: which parser read the record a study page's visit is judged by.
--
-- `pages.signature_parser` is the parser version (`studies.parser_version`) of the record whose
-- content hash is `pages.signature`. A visit read by another parser version than the last one is
-- not judged against it (scraper.schedule.Signature): a parser release may read every page
-- differently, and that is no change of the site. Rows kept before this migration take the
-- version of the stored study where its hash is still theirs; the rest stay NULL and are
-- compared by their hash, as before.
ALTER TABLE pages ADD COLUMN IF NOT EXISTS signature_parser VARCHAR;
UPDATE pages SET signature_parser = studies.parser_version
FROM studies
WHERE pages.study_id = studies.study_id
  AND pages.signature = studies.content_hash
  AND pages.signature_parser IS NULL;
