-- Full-text search over studies, in plain SQL (see warehouse/README.md for why not the fts
-- extension). The loader fills `study_terms` / `study_field_lengths` with `search_tokens`, and
-- `search_studies` tokenises the query with the same macro, so both sides always agree.

-- Words of a text: lower-cased, accents stripped, split on anything that is not a letter or digit
-- ("5α-reductase" -> ["5α", "reductase"], "Vañó‐Galván" -> ["vano", "galvan"]).
CREATE OR REPLACE MACRO search_tokens(txt) AS
    list_filter(
        regexp_split_to_array(lower(strip_accents(coalesce(txt, ''))), '[^\p{L}\p{N}]+'),
        lambda token: token <> ''
    );

-- BM25F ranking: each field's term frequency is normalised by that field's length against its
-- average (b = 0.75), weighted (title 3, tldr 1.5, summary 1), summed per term, saturated
-- (k1 = 1.2) and multiplied by the term's idf. Matches any of the words; studies matching more
-- of them, and matching them in their title, rank first. Removed studies are left out.
-- Usage: SELECT * FROM search_studies('finasteride sexual side effects') LIMIT 10;
CREATE OR REPLACE MACRO search_studies(words) AS TABLE
WITH
query_terms AS (
    SELECT DISTINCT unnest(search_tokens(words)) AS term
),
field_weights(field, weight) AS (
    VALUES ('title', 3.0::DOUBLE), ('tldr', 1.5::DOUBLE), ('summary', 1.0::DOUBLE)
),
corpus AS (
    SELECT count(DISTINCT study_id) AS documents FROM study_field_lengths
),
average_lengths AS (
    SELECT field, avg(length) AS average_length FROM study_field_lengths GROUP BY field
),
matches AS (
    SELECT t.study_id, t.field, t.term, t.tf, l.length
    FROM study_terms AS t
    JOIN query_terms USING (term)
    JOIN study_field_lengths AS l USING (study_id, field)
),
document_frequency AS (
    SELECT term, count(DISTINCT study_id) AS df FROM matches GROUP BY term
),
weighted_tf AS (
    SELECT m.study_id, m.term,
           sum(w.weight * m.tf / (0.25 + 0.75 * m.length / a.average_length)) AS wtf
    FROM matches AS m
    JOIN field_weights AS w USING (field)
    JOIN average_lengths AS a USING (field)
    GROUP BY m.study_id, m.term
),
scores AS (
    SELECT w.study_id,
           sum(ln(1 + (c.documents - d.df + 0.5) / (d.df + 0.5))
               * w.wtf * (1.2 + 1) / (w.wtf + 1.2)) AS score,
           count(*) AS matched_terms
    FROM weighted_tf AS w
    JOIN document_frequency AS d USING (term)
    CROSS JOIN corpus AS c
    GROUP BY w.study_id
)
SELECT s.study_id, s.title, round(sc.score, 4) AS score, sc.matched_terms, s.url, s.tldr
FROM scores AS sc
JOIN studies AS s USING (study_id)
WHERE s.removed_at IS NULL
ORDER BY sc.score DESC, s.study_id;
