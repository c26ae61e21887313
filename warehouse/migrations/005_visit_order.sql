-- 005: visits ordered by crawl run, not by the wall clock alone; runs linked to their crawl.
--
-- The loader took a study's fetch as stale when its time was before the stored `last_seen_at`.
-- With the clock stepped back, a change fetched by a later run was dropped while the frontier
-- kept its new hash and ETag, so it was never loaded. Runs get ids from a sequence, so a later
-- run's visit is the newer one whatever the clock said; within a run the fetch time decides.
-- `last_seen_run_id` is the run of the visit `studies` holds, `removed_run_id` the run that saw
-- the page gone. Rows loaded before this migration take the last run that observed them.
ALTER TABLE studies ADD COLUMN last_seen_run_id BIGINT;
ALTER TABLE studies ADD COLUMN removed_run_id BIGINT;
UPDATE studies SET last_seen_run_id = o.run_id
FROM (SELECT study_id, max(run_id) AS run_id FROM study_observations GROUP BY study_id) AS o
WHERE studies.study_id = o.study_id;

-- The frontier crawl a run worked on: a run that was killed is closed by the next one with the
-- counts of its visits (scraper.runs.close_interrupted_runs).
ALTER TABLE crawl_runs ADD COLUMN crawl_id VARCHAR;
