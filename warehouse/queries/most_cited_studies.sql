-- Most-cited studies: the citation count the site shows next to a study wherever it is listed as
-- cited or related research, and how many studies in the warehouse cite it.
SELECT study_id, title, citations, cited_by_studies, in_warehouse
FROM study_citations
ORDER BY citations DESC NULLS LAST, cited_by_studies DESC, study_id
LIMIT 20;
