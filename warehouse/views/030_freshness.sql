-- How fresh the warehouse is, page by page, and the estimates the frontier orders its work by
-- (scraper.frontier.Frontier.due uses these macros; scraper.schedule has their Python twins).

-- Change rate per second from a page's own visit history: Cho & Garcia-Molina's estimator for
-- incomplete histories, -log((n - X + 0.5) / (n + 0.5)) / (T / n) for n judged revisits, X of
-- them changed, over T seconds, never under half a change over T (a page seen unchanged has
-- changed rarely, not never: scraper.schedule.UNSEEN_CHANGES). Without history (one visit) the
-- revisit interval is the prior: one change per interval, the adaptive schedule's own guess.
CREATE OR REPLACE MACRO page_change_rate(n, x, t, interval_s) AS
    CASE WHEN coalesce(n, 0) > 0 AND coalesce(t, 0) > 0
         THEN greatest(-ln((n - x + 0.5) / (n + 0.5)) / (t / n), 0.5 / t)
         ELSE 1.0 / greatest(coalesce(interval_s, 86400), 1) END;

-- P(changed since the last judged visit) for a Poisson change process of that rate.
CREATE OR REPLACE MACRO page_p_changed(rate, elapsed_s) AS
    1 - exp(-rate * greatest(coalesce(elapsed_s, 0), 0));

-- One row per page fetched under its own URL (aliases left out). `change_rate_per_day` and
-- `p_changed_now` are estimates; `due`: its next visit time has come; `overdue_s`: by how much;
-- `staleness_s`: seconds since the last visit that read it (NULL: never read).
CREATE OR REPLACE VIEW page_freshness AS
SELECT url, study_id, page_kind,
       judged_at AS last_visit_at,
       last_changed_at,
       observed_visits, observed_changes, observed_seconds,
       page_change_rate(observed_visits, observed_changes, observed_seconds, revisit_seconds)
           * 86400 AS change_rate_per_day,
       CASE WHEN judged_at IS NULL THEN NULL ELSE page_p_changed(
           page_change_rate(observed_visits, observed_changes, observed_seconds, revisit_seconds),
           epoch(now()) - epoch(judged_at)) END AS p_changed_now,
       sitemap_lastmod,
       sitemap_lastmod > judged_at AS lastmod_newer,
       next_visit_at,
       next_visit_at <= now() AS due,
       greatest(epoch(now()) - epoch(next_visit_at), 0) AS overdue_s,
       epoch(now()) - epoch(judged_at) AS staleness_s,
       last_outcome
FROM pages
WHERE alias_of IS NULL;
