-- Studies per publication year and venue. Venue casing varies between pages, so venues are
-- grouped case-insensitively and shown in their most frequent spelling.
SELECT year(published) AS year,
       mode(venue) AS venue,
       count(*) AS studies
FROM studies
WHERE removed_at IS NULL AND venue IS NOT NULL
GROUP BY year(published), lower(venue)
ORDER BY year DESC NULLS LAST, studies DESC, venue;
