-- What a person watching crawls wants from each run beyond the counts of 001: new and 304 pages,
-- the traffic it cost, how long it took, why pages failed, and which fields drifted.
ALTER TABLE crawl_runs ADD COLUMN pages_new BIGINT;
ALTER TABLE crawl_runs ADD COLUMN pages_not_modified BIGINT;
ALTER TABLE crawl_runs ADD COLUMN requests BIGINT;
ALTER TABLE crawl_runs ADD COLUMN bytes_received BIGINT;
ALTER TABLE crawl_runs ADD COLUMN duration_s DOUBLE;
ALTER TABLE crawl_runs ADD COLUMN failure_reasons VARCHAR;  -- JSON object: reason -> pages
ALTER TABLE crawl_runs ADD COLUMN drifted_fields VARCHAR;   -- comma-separated, when the guard fired
