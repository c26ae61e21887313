-- Study pages most likely to be out of date in the warehouse: by the estimated probability that
-- they changed since their last visit (never-read pages first), with how stale they are.
SELECT url, last_visit_at, last_changed_at,
       round(change_rate_per_day, 3) AS changes_per_day,
       round(p_changed_now, 2) AS p_changed,
       due,
       round(staleness_s / 86400, 1) AS days_stale
FROM page_freshness
WHERE page_kind = 'study'
ORDER BY p_changed_now DESC NULLS FIRST, url
LIMIT 20;
