-- 007: what a page's change rate is estimated from, and what a run's budget was and left.
--
-- A page's visit history for the change-rate estimate (Cho & Garcia-Molina's estimator for
-- incomplete change histories, `page_change_rate` in warehouse/views/030_freshness.sql):
-- `observed_visits` revisits that were judged changed or unchanged, `observed_changes` those that
-- found a change, `observed_seconds` the time they span (each from the judged visit before it),
-- and `judged_at` the last visit that was judged (new, changed or unchanged; a failed visit says
-- nothing about change). Pages visited before this migration start their history afresh.
ALTER TABLE pages ADD COLUMN IF NOT EXISTS observed_visits BIGINT DEFAULT 0;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS observed_changes BIGINT DEFAULT 0;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS observed_seconds DOUBLE DEFAULT 0;
ALTER TABLE pages ADD COLUMN IF NOT EXISTS judged_at TIMESTAMPTZ;
UPDATE pages SET observed_visits = 0, observed_changes = 0, observed_seconds = 0
WHERE observed_visits IS NULL;
-- A run's budget and how it ended: `max_requests` and `deadline` as given (NULL: none),
-- `requests_counted` every request counted against the budget (robots.txt, sitemaps, pages,
-- retries, redirects), `ended_by` 'done' (nothing due left), 'budget' or 'deadline', and what it
-- left: `pages_left_due` pages due and not visited, `stalest_due_s` the seconds since the last
-- visit (or the discovery) of the stalest of them.
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS max_requests BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS deadline TIMESTAMPTZ;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS requests_counted BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS ended_by VARCHAR;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS pages_left_due BIGINT;
ALTER TABLE crawl_runs ADD COLUMN IF NOT EXISTS stalest_due_s DOUBLE;
