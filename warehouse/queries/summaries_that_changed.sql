-- Studies whose summary changed, newest change first, with the text before and after.
SELECT h.study_id, s.title, h.changed_at, h.old_value AS summary_before, h.new_value AS summary_after
FROM study_text_history AS h
JOIN studies AS s USING (study_id)
WHERE h.field = 'summary'
ORDER BY h.changed_at DESC, h.study_id;
