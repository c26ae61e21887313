-- Ranked full-text search over titles, TLDRs and summaries (see warehouse/README.md).
SELECT study_id, title, score, matched_terms, url
FROM search_studies('finasteride sexual side effects')
LIMIT 10;
