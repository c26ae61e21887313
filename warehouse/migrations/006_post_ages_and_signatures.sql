-- 006: when posts were made, as instants; and what a study page's visit is judged by.
--
-- A post card says how long ago the post was made ("1 week ago"), relative to the visit, so the
-- text ticks over while nothing changed. Each card and each post also gets the instant the text
-- pointed at, floored to its unit, and that unit (scraper.ages): `posted_at_estimate` and
-- `posted_at_precision` ('minute', 'hour', 'day', 'week', 'month' or 'year'). `age_text` stays
-- as it was read, on the cards and in `community_post_observations`.
--
-- `pages.signature` is the content hash of the record a study page was last read into
-- (`studies.content_hash` of that visit): a visit's outcome is judged by it, not by the body's
-- bytes (`content_sha256`, still kept: identical bytes need no parse), because the site's bytes
-- change on every request. NULL for pages that are not studies; they are judged by their bytes.
-- Rows written before this migration have none: their next visit is judged by its bytes once.
ALTER TABLE study_community_posts ADD COLUMN IF NOT EXISTS posted_at_estimate TIMESTAMPTZ;
ALTER TABLE study_community_posts ADD COLUMN IF NOT EXISTS posted_at_precision VARCHAR;
ALTER TABLE community_posts ADD COLUMN IF NOT EXISTS posted_at_estimate TIMESTAMPTZ;
ALTER TABLE community_posts ADD COLUMN IF NOT EXISTS posted_at_precision VARCHAR;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS signature VARCHAR;
