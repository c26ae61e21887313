-- 001: the warehouse core (the query interface README.md documents) plus its history and search tables.
--
-- Conventions: ids are the site's own (study id after the slug's last hyphen, post id); times are
-- TIMESTAMPTZ instants; counts are BIGINT; `position` is the 0-based order on the page. Nothing is
-- ever deleted by a crawl: a study that disappears gets `removed_at`. The `pages` relation of
-- Contract 3 belongs to the crawl state (migration 002).

CREATE SEQUENCE crawl_run_ids START 1;

-- One row per crawl (or reparse) run; the flow opens it with runs.start_run and closes it with
-- runs.finish_run.
CREATE TABLE crawl_runs (
    run_id          BIGINT PRIMARY KEY DEFAULT nextval('crawl_run_ids'),
    started_at      TIMESTAMPTZ NOT NULL,
    finished_at     TIMESTAMPTZ,
    status          VARCHAR NOT NULL DEFAULT 'running',  -- running | completed | failed
    kind            VARCHAR NOT NULL DEFAULT 'crawl',    -- crawl | reparse
    base_url        VARCHAR,
    parser_version  VARCHAR,
    flow_run_id     VARCHAR,                              -- the Prefect flow run, when there is one
    pages_fetched   BIGINT,
    pages_changed   BIGINT,
    pages_unchanged BIGINT,
    pages_failed    BIGINT,
    pages_removed   BIGINT,
    error           VARCHAR                               -- why a failed run failed, one line
);

-- Per-run share of study pages on which each Contract 1 field was found (0..1): the drift guard
-- compares a run against the runs before it.
CREATE TABLE run_field_coverage (
    run_id   BIGINT NOT NULL,
    field    VARCHAR NOT NULL,
    coverage DOUBLE NOT NULL,
    pages    BIGINT NOT NULL,
    PRIMARY KEY (run_id, field)
);

-- One row per study id: the latest good state of its page. The id is the key; a slug change
-- updates `url` and keeps the row.
CREATE TABLE studies (
    study_id            VARCHAR PRIMARY KEY,
    url                 VARCHAR,
    title               VARCHAR,
    published           DATE,                 -- first day of the month shown ("January 2024")
    venue               VARCHAR,
    tldr                VARCHAR,
    summary             VARCHAR,
    image_url           VARCHAR,
    source_url          VARCHAR,
    source_host         VARCHAR,
    discussion_url      VARCHAR,
    sections            VARCHAR[] NOT NULL,   -- section keys present on the page
    cited_heading       VARCHAR,
    cited_shown         BIGINT,
    cited_total         BIGINT,
    cited_total_text    VARCHAR,              -- "1000+" when the total is a lower bound
    posts_heading       VARCHAR,
    posts_shown         BIGINT,
    posts_total         BIGINT,
    posts_total_text    VARCHAR,
    related_heading     VARCHAR,
    related_shown       BIGINT,
    related_total       BIGINT,
    related_total_text  VARCHAR,
    page_kind           VARCHAR NOT NULL,
    parser_version      VARCHAR NOT NULL,
    warnings            VARCHAR[] NOT NULL,
    content_hash        VARCHAR NOT NULL,     -- sha256 of the record minus parser_version/warnings
    first_seen_at       TIMESTAMPTZ NOT NULL,
    last_seen_at        TIMESTAMPTZ NOT NULL,
    last_changed_at     TIMESTAMPTZ NOT NULL, -- moves only when content_hash changes
    removed_at          TIMESTAMPTZ,          -- set on 404/410, cleared when the page is back
    first_run_id        BIGINT,
    last_changed_run_id BIGINT
);

CREATE TABLE study_authors (
    study_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    name     VARCHAR NOT NULL,
    PRIMARY KEY (study_id, position)
);

-- "Research cited in this study" entries, as the citing page shows them now.
CREATE TABLE cited_research (
    study_id       VARCHAR NOT NULL,
    position       INTEGER NOT NULL,
    cited_study_id VARCHAR,
    cited_url      VARCHAR,
    title          VARCHAR,
    citations      BIGINT,
    published      DATE,
    venue          VARCHAR,
    tldr           VARCHAR,
    PRIMARY KEY (study_id, position)
);

-- "Related Research" / "Similar Research" / "Related" entries, as the page shows them now.
CREATE TABLE related_research (
    study_id         VARCHAR NOT NULL,
    position         INTEGER NOT NULL,
    related_study_id VARCHAR,
    related_url      VARCHAR,
    title            VARCHAR,
    citations        BIGINT,
    published        DATE,
    venue            VARCHAR,
    tldr             VARCHAR,
    PRIMARY KEY (study_id, position)
);

-- Community posts as entities: the best known values of each post seen on any study page.
CREATE TABLE community_posts (
    post_id       VARCHAR PRIMARY KEY,
    url           VARCHAR,
    title         VARCHAR,
    category      VARCHAR,
    summary       VARCHAR,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL
);

-- The post cards of a study page exactly as shown (a card without a post id is kept too).
CREATE TABLE study_community_posts (
    study_id VARCHAR NOT NULL,
    position INTEGER NOT NULL,
    post_id  VARCHAR,
    url      VARCHAR,
    title    VARCHAR,
    category VARCHAR,
    upvotes  BIGINT,
    age_text VARCHAR,
    summary  VARCHAR,
    PRIMARY KEY (study_id, position)
);

-- History: one row per post per visit (keyed by the fetch time, so a replay adds nothing).
CREATE TABLE community_post_observations (
    post_id      VARCHAR NOT NULL,
    observed_at  TIMESTAMPTZ NOT NULL,
    upvotes      BIGINT,
    age_text     VARCHAR,
    study_id     VARCHAR,               -- the study page the card was read from
    run_id       BIGINT,
    not_modified BOOLEAN NOT NULL,      -- true: the page answered 304, values carried forward
    PRIMARY KEY (post_id, observed_at)
);

-- History: one row per study per visit.
CREATE TABLE study_observations (
    study_id      VARCHAR NOT NULL,
    observed_at   TIMESTAMPTZ NOT NULL,
    cited_shown   BIGINT,
    cited_total   BIGINT,
    posts_shown   BIGINT,
    posts_total   BIGINT,
    related_shown BIGINT,
    related_total BIGINT,
    run_id        BIGINT,
    not_modified  BOOLEAN NOT NULL,
    PRIMARY KEY (study_id, observed_at)
);

-- History: earlier versions of a study's text fields (title, tldr, summary, venue, published, url).
CREATE TABLE study_text_history (
    study_id   VARCHAR NOT NULL,
    field      VARCHAR NOT NULL,
    old_value  VARCHAR,
    new_value  VARCHAR,
    changed_at TIMESTAMPTZ NOT NULL,
    run_id     BIGINT,
    PRIMARY KEY (study_id, field, changed_at)
);

-- Search index, maintained by the loader: term frequencies per study and field, and field lengths
-- (in terms) for BM25's length normalisation. Tokens come from the `search_tokens` macro.
CREATE TABLE study_terms (
    study_id VARCHAR NOT NULL,
    field    VARCHAR NOT NULL,   -- title | tldr | summary
    term     VARCHAR NOT NULL,
    tf       INTEGER NOT NULL,
    PRIMARY KEY (study_id, field, term)
);

CREATE TABLE study_field_lengths (
    study_id VARCHAR NOT NULL,
    field    VARCHAR NOT NULL,
    length   INTEGER NOT NULL,
    PRIMARY KEY (study_id, field)
);
