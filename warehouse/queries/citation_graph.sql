-- The citation graph between studies that are both in the warehouse, as an edge list with each
-- node's in- and out-degree (ready for a graph tool: export with --format csv).
WITH degrees AS (
    SELECT study_id,
           count(*) FILTER (WHERE role = 'cites') AS cites,
           count(*) FILTER (WHERE role = 'cited') AS cited_by
    FROM (
        SELECT citing_study_id AS study_id, 'cites' AS role FROM citation_edges
        UNION ALL
        SELECT cited_study_id, 'cited' FROM citation_edges
    )
    GROUP BY study_id
)
SELECT e.citing_study_id, e.cited_study_id, e.citing_title, e.cited_title,
       citing.cites AS citing_out_degree, cited.cited_by AS cited_in_degree
FROM citation_edges AS e
JOIN degrees AS citing ON citing.study_id = e.citing_study_id
JOIN degrees AS cited ON cited.study_id = e.cited_study_id
ORDER BY cited_in_degree DESC, e.cited_study_id, e.citing_study_id;
