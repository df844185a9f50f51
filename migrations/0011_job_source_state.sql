-- The CSV source's header mapping, delimiter and preset, and what a preset carries from row to row (source_state
-- until now), become one JSON value in source_state that the source alone writes and reads back
-- (src/imports/sources/csv-source.ts). A job between two slices carries on after the deploy where it stopped; a job
-- that has finished never reads its state again, and keeps none in the old shape.
UPDATE `import_jobs` SET `source_state` = CASE
    WHEN `status` IN ('pending', 'queued', 'processing') AND `columns` IS NOT NULL THEN json_object(
      'columns', json(`columns`),
      'delimiter', coalesce(`delimiter`, ','),
      'preset', CASE WHEN `preset` IN ('shopify', 'woocommerce') THEN `preset` END,
      'carried', json(`source_state`))
  END
WHERE `columns` IS NOT NULL OR `source_state` IS NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` DROP COLUMN `columns`;--> statement-breakpoint
ALTER TABLE `import_jobs` DROP COLUMN `delimiter`;
