-- 002: crawl state (the frontier) and the index of the raw WARC archive.
--
-- `pages` is the Contract 3 relation (url, study_id, status_code, fetched_at, etag, last_modified,
-- content_sha256, error) plus what the frontier needs to decide what is due. It is written only by
-- scraper.frontier, one transaction per batch, so a crash loses at most the batch in flight.
-- Times are TIMESTAMPTZ instants; intervals are whole seconds.

CREATE TABLE pages (
    url             VARCHAR PRIMARY KEY,   -- canonical URL (scraper.urls.canonicalize)
    study_id        VARCHAR,               -- the id after the slug's last hyphen; NULL if no study
    page_kind       VARCHAR NOT NULL,      -- study | post | search | learn | other
    status_code     INTEGER,               -- final HTTP status of the last visit; NULL: none came
    fetched_at      TIMESTAMPTZ,           -- when the last visit's answer arrived
    etag            VARCHAR,               -- sent back as If-None-Match on the next visit
    last_modified   VARCHAR,               -- sent back as If-Modified-Since on the next visit
    content_sha256  VARCHAR,               -- hex digest of the last body seen (kept across 304s)
    error           VARCHAR,               -- give-up reason of the last visit; NULL when it went fine
    -- the same study under another slug: the URL fetched instead (this one is not fetched)
    alias_of        VARCHAR,
    source          VARCHAR NOT NULL,      -- how it was first found: seed | sitemap | link | redirect
    referrer        VARCHAR,               -- the page or sitemap that first listed it
    discovered_at   TIMESTAMPTZ NOT NULL,
    sitemap_lastmod TIMESTAMPTZ,           -- newest <lastmod> a sitemap gave for it
    next_visit_at   TIMESTAMPTZ NOT NULL,  -- due from this instant on
    revisit_seconds BIGINT NOT NULL,       -- current revisit interval (adapts to observed changes)
    visits          BIGINT NOT NULL DEFAULT 0,  -- visits recorded, whatever their outcome
    changes         BIGINT NOT NULL DEFAULT 0,  -- visits that found content not seen before
    failures        BIGINT NOT NULL DEFAULT 0,  -- consecutive failed visits; reset by a success
    attempts        BIGINT NOT NULL DEFAULT 0,  -- requests made over all visits, retries included
    last_outcome    VARCHAR,               -- new | changed | unchanged | gone | failed | refused
    last_changed_at TIMESTAMPTZ,           -- last visit whose outcome was new or changed
    last_crawl_id   VARCHAR,               -- the crawl that recorded the last visit: done in it
    claimed_by      VARCHAR,               -- crawl whose batch holds the URL now; NULL when free
    claimed_at      TIMESTAMPTZ
);

-- One row per crawl of the frontier. A row without finished_at is a crawl that was interrupted
-- (or is running): the next begin_crawl resumes it instead of starting over.
CREATE TABLE frontier_crawls (
    crawl_id      VARCHAR PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    full_recrawl  BOOLEAN NOT NULL,        -- every known page due, not only those whose time came
    discovered_at TIMESTAMPTZ,             -- robots.txt, sitemaps and seeds were all read
    resumed       BIGINT NOT NULL DEFAULT 0  -- times it was picked up again after an interruption
);

-- URLs found and not followed (other hosts, javascript:/data:/mailto:, absurd lengths, page
-- kinds we do not crawl), one row per URL with the first reason and how often it was seen.
CREATE TABLE frontier_rejected (
    url           VARCHAR PRIMARY KEY,
    reason        VARCHAR NOT NULL,
    referrer      VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    seen          BIGINT NOT NULL DEFAULT 1
);

-- Where each archived response lives: any page can be re-read from the WARC files without the
-- network. One row per response or revisit record; the newest 2xx `response` without an error
-- holds the body that `pages.content_sha256` describes.
CREATE TABLE archive_records (
    warc_file      VARCHAR NOT NULL,       -- file name inside the archive directory
    record_offset  BIGINT NOT NULL,        -- byte offset of the record's gzip member
    record_length  BIGINT NOT NULL,        -- bytes of that member on disk
    url            VARCHAR NOT NULL,       -- the frontier's URL the fetch was for
    target_uri     VARCHAR NOT NULL,       -- WARC-Target-URI: the URL this response answered
    record_type    VARCHAR NOT NULL,       -- response | revisit
    status_code    INTEGER NOT NULL,
    content_sha256 VARCHAR,                -- hex digest of the payload (of the original, for revisits)
    error          VARCHAR,                -- the fetch's give-up reason: a refused or cut body
    fetched_at     TIMESTAMPTZ NOT NULL,
    crawl_id       VARCHAR,
    PRIMARY KEY (warc_file, record_offset)
);
