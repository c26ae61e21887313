-- 008: studies as research listings show them, one row per entry and visit of a listing page.
--
-- A listing (`/search/research/<keyword>/<page>`) shows each study's title, its citation count,
-- its date and venue and a TLDR: a second, more frequent reading of a study's citation count
-- over time. These rows are observations of those studies, kept beside what the study's own
-- page said (`studies` and its children are never written from a listing). Keyed by the listing
-- URL, the fetch time and the entry's 0-based position, so replaying a batch or reparsing the
-- archive adds nothing. `study_id` is the entry's link's id (the study may not be in `studies`
-- yet); `published` is the first day of the month shown.
CREATE TABLE IF NOT EXISTS listing_observations (
    listing_url VARCHAR NOT NULL,
    observed_at TIMESTAMPTZ NOT NULL,
    position INTEGER NOT NULL,
    study_id VARCHAR NOT NULL,
    study_url VARCHAR,
    title VARCHAR,
    citations INTEGER,
    published DATE,
    venue VARCHAR,
    tldr VARCHAR,
    keyword VARCHAR,
    page_number INTEGER,
    run_id BIGINT,
    PRIMARY KEY (listing_url, observed_at, position)
);
CREATE INDEX IF NOT EXISTS listing_observations_study ON listing_observations (study_id);
