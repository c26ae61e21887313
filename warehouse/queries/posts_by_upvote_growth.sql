-- Community posts ranked by upvote growth between the last two visits that read their card.
-- Visits that answered 304 (not_modified) carry the old value forward and are left out here.
WITH visits AS (
    SELECT post_id, observed_at, upvotes,
           lag(upvotes) OVER w AS previous_upvotes,
           lag(observed_at) OVER w AS previous_observed_at,
           row_number() OVER (PARTITION BY post_id ORDER BY observed_at DESC) AS recency
    FROM community_post_observations
    WHERE upvotes IS NOT NULL AND NOT not_modified
    WINDOW w AS (PARTITION BY post_id ORDER BY observed_at)
)
SELECT p.post_id, p.title, p.category,
       v.previous_upvotes, v.upvotes, v.upvotes - v.previous_upvotes AS growth,
       v.previous_observed_at, v.observed_at
FROM visits AS v
JOIN community_posts AS p USING (post_id)
WHERE v.recency = 1 AND v.previous_upvotes IS NOT NULL
ORDER BY growth DESC, p.post_id
LIMIT 20;
