ALTER TABLE `import_job_counters` ADD `processed_rows` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `slice_started_at` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `slice_start_byte` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `slice_rows` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `slice_ms` integer;--> statement-breakpoint
CREATE INDEX `import_jobs_tenant_completed` ON `import_jobs` (`tenant_id`,`finished_at`,`started_at`) WHERE "import_jobs"."status" = 'completed';--> statement-breakpoint
CREATE INDEX `import_jobs_tenant_queued` ON `import_jobs` (`tenant_id`,`queued_at`) WHERE "import_jobs"."status" = 'queued';--> statement-breakpoint
-- The status counters gain processed_rows (see import_job_counters in src/db/schema.ts): the triggers of
-- 0015_import_job_counters are recreated with it, unchanged otherwise; a chunk's job update, which moves processed_rows,
-- now moves the job's counter row in the same statement.
DROP TRIGGER `import_job_counters_insert`;--> statement-breakpoint
DROP TRIGGER `import_job_counters_delete`;--> statement-breakpoint
DROP TRIGGER `import_job_counters_move`;--> statement-breakpoint
DROP TRIGGER `import_job_counters_change`;--> statement-breakpoint
CREATE TRIGGER `import_job_counters_insert` AFTER INSERT ON `import_jobs` BEGIN
  INSERT INTO `import_job_counters` (`tenant_id`, `status`, `jobs`, `errors`, `warnings`, `duration_sum`, `duration_count`, `processed_rows`)
  VALUES (NEW.`tenant_id`, NEW.`status`, 1, NEW.`error_count`, NEW.`warning_count`,
    coalesce(CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END, 0),
    (CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END) IS NOT NULL, NEW.`processed_rows`)
  ON CONFLICT (`tenant_id`, `status`) DO UPDATE SET `jobs` = `jobs` + excluded.`jobs`, `errors` = `errors` + excluded.`errors`,
    `warnings` = `warnings` + excluded.`warnings`, `duration_sum` = `duration_sum` + excluded.`duration_sum`,
    `duration_count` = `duration_count` + excluded.`duration_count`, `processed_rows` = `processed_rows` + excluded.`processed_rows`;
END;
--> statement-breakpoint
CREATE TRIGGER `import_job_counters_delete` AFTER DELETE ON `import_jobs` BEGIN
  UPDATE `import_job_counters` SET `jobs` = `jobs` - 1, `errors` = `errors` - OLD.`error_count`, `warnings` = `warnings` - OLD.`warning_count`,
    `duration_sum` = `duration_sum` - coalesce(CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END, 0),
    `duration_count` = `duration_count` - ((CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END) IS NOT NULL),
    `processed_rows` = `processed_rows` - OLD.`processed_rows`
  WHERE `tenant_id` = OLD.`tenant_id` AND `status` = OLD.`status`;
END;
--> statement-breakpoint
CREATE TRIGGER `import_job_counters_move` AFTER UPDATE OF `tenant_id`, `status` ON `import_jobs`
WHEN (OLD.`tenant_id`, OLD.`status`) IS NOT (NEW.`tenant_id`, NEW.`status`) BEGIN
  UPDATE `import_job_counters` SET `jobs` = `jobs` - 1, `errors` = `errors` - OLD.`error_count`, `warnings` = `warnings` - OLD.`warning_count`,
    `duration_sum` = `duration_sum` - coalesce(CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END, 0),
    `duration_count` = `duration_count` - ((CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END) IS NOT NULL),
    `processed_rows` = `processed_rows` - OLD.`processed_rows`
  WHERE `tenant_id` = OLD.`tenant_id` AND `status` = OLD.`status`;
  INSERT INTO `import_job_counters` (`tenant_id`, `status`, `jobs`, `errors`, `warnings`, `duration_sum`, `duration_count`, `processed_rows`)
  VALUES (NEW.`tenant_id`, NEW.`status`, 1, NEW.`error_count`, NEW.`warning_count`,
    coalesce(CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END, 0),
    (CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END) IS NOT NULL, NEW.`processed_rows`)
  ON CONFLICT (`tenant_id`, `status`) DO UPDATE SET `jobs` = `jobs` + excluded.`jobs`, `errors` = `errors` + excluded.`errors`,
    `warnings` = `warnings` + excluded.`warnings`, `duration_sum` = `duration_sum` + excluded.`duration_sum`,
    `duration_count` = `duration_count` + excluded.`duration_count`, `processed_rows` = `processed_rows` + excluded.`processed_rows`;
END;
--> statement-breakpoint
CREATE TRIGGER `import_job_counters_change` AFTER UPDATE OF `error_count`, `warning_count`, `started_at`, `finished_at`, `processed_rows` ON `import_jobs`
WHEN (OLD.`tenant_id`, OLD.`status`) IS (NEW.`tenant_id`, NEW.`status`)
  AND (OLD.`error_count`, OLD.`warning_count`, OLD.`started_at`, OLD.`finished_at`, OLD.`processed_rows`)
    IS NOT (NEW.`error_count`, NEW.`warning_count`, NEW.`started_at`, NEW.`finished_at`, NEW.`processed_rows`) BEGIN
  UPDATE `import_job_counters` SET `errors` = `errors` + NEW.`error_count` - OLD.`error_count`, `warnings` = `warnings` + NEW.`warning_count` - OLD.`warning_count`,
    `duration_sum` = `duration_sum` + coalesce(CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END, 0)
      - coalesce(CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END, 0),
    `duration_count` = `duration_count` + ((CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END) IS NOT NULL)
      - ((CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END) IS NOT NULL),
    `processed_rows` = `processed_rows` + NEW.`processed_rows` - OLD.`processed_rows`
  WHERE `tenant_id` = NEW.`tenant_id` AND `status` = NEW.`status`;
END;
--> statement-breakpoint
-- The rows of the jobs stored before this migration.
UPDATE `import_job_counters` SET `processed_rows` = coalesce((SELECT sum(j.`processed_rows`) FROM `import_jobs` AS j
  WHERE j.`tenant_id` = `import_job_counters`.`tenant_id` AND j.`status` = `import_job_counters`.`status`), 0);
