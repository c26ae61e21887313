-- 009: which parser read the record a study page's visit is judged by.
--
-- `pages.signature_parser` is the parser version (`studies.parser_version`) of the record whose
-- content hash is `pages.signature`. A visit read by another parser version than the last one is
-- not compared with it (scraper.schedule.Signature): a parser release may read every page
-- differently, and that is no change of the site. NULL for signatures kept before this migration:
-- they are compared as before.
ALTER TABLE pages ADD COLUMN IF NOT EXISTS signature_parser VARCHAR;
