-- Views for common questions. Re-created on every writer open, so they always match the code.

-- Every study id that the warehouse's pages mention as cited or related research, with the
-- citation count shown next to it ("12 citations", the largest one currently shown) and how many
-- studies in the warehouse cite it. `in_warehouse`: the study's own page is loaded.
CREATE OR REPLACE VIEW study_citations AS
WITH mentions AS (
    SELECT study_id AS mentioned_by, cited_study_id AS study_id, title, citations,
           true AS is_citation
    FROM cited_research WHERE cited_study_id IS NOT NULL
    UNION ALL
    SELECT study_id, related_study_id, title, citations, false
    FROM related_research WHERE related_study_id IS NOT NULL
)
SELECT m.study_id,
       coalesce(any_value(s.title), any_value(m.title)) AS title,
       any_value(s.study_id) IS NOT NULL AS in_warehouse,
       max(m.citations) AS citations,
       count(DISTINCT m.mentioned_by) FILTER (WHERE m.is_citation) AS cited_by_studies
FROM mentions AS m
LEFT JOIN studies AS s USING (study_id)
GROUP BY m.study_id;

-- The citation graph restricted to studies that are both in the warehouse.
CREATE OR REPLACE VIEW citation_edges AS
SELECT c.study_id AS citing_study_id, c.cited_study_id, c.position,
       citing.title AS citing_title, cited.title AS cited_title
FROM cited_research AS c
JOIN studies AS citing ON citing.study_id = c.study_id
JOIN studies AS cited ON cited.study_id = c.cited_study_id;

-- Each community post's upvotes at its first and latest observation.
CREATE OR REPLACE VIEW post_upvote_growth AS
WITH span AS (
    SELECT post_id,
           min(observed_at) AS first_observed_at,
           arg_min(upvotes, observed_at) AS first_upvotes,
           max(observed_at) AS last_observed_at,
           arg_max(upvotes, observed_at) AS last_upvotes,
           count(*) AS observations
    FROM community_post_observations
    WHERE upvotes IS NOT NULL
    GROUP BY post_id
)
SELECT p.post_id, p.title, p.category, p.url,
       span.first_observed_at, span.first_upvotes, span.last_observed_at, span.last_upvotes,
       span.last_upvotes - span.first_upvotes AS upvote_growth, span.observations
FROM span
JOIN community_posts AS p USING (post_id);
