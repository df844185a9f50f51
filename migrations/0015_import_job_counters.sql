CREATE TABLE `import_job_counters` (
	`tenant_id` text NOT NULL,
	`status` text NOT NULL,
	`jobs` integer DEFAULT 0 NOT NULL,
	`errors` integer DEFAULT 0 NOT NULL,
	`warnings` integer DEFAULT 0 NOT NULL,
	`duration_sum` integer DEFAULT 0 NOT NULL,
	`duration_count` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`tenant_id`, `status`)
);
--> statement-breakpoint
ALTER TABLE `tenants` ADD `counters_checked_at` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `tenants_counters_checked` ON `tenants` (`counters_checked_at`);--> statement-breakpoint
-- The status summary's counters (see import_job_counters in src/db/schema.ts), kept by triggers: they run inside the
-- statement that writes the job, so no write path can forget them and a statement that changes nothing (a guard that
-- failed on redelivery) counts nothing. A job counts as: 1 job; its error_count and warning_count; and, when completed
-- with both times, finished_at − started_at (CASE … END is null otherwise, as in the recount, so it is not counted).
CREATE TRIGGER `import_job_counters_insert` AFTER INSERT ON `import_jobs` BEGIN
  INSERT INTO `import_job_counters` (`tenant_id`, `status`, `jobs`, `errors`, `warnings`, `duration_sum`, `duration_count`)
  VALUES (NEW.`tenant_id`, NEW.`status`, 1, NEW.`error_count`, NEW.`warning_count`,
    coalesce(CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END, 0),
    (CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END) IS NOT NULL)
  ON CONFLICT (`tenant_id`, `status`) DO UPDATE SET `jobs` = `jobs` + excluded.`jobs`, `errors` = `errors` + excluded.`errors`,
    `warnings` = `warnings` + excluded.`warnings`, `duration_sum` = `duration_sum` + excluded.`duration_sum`,
    `duration_count` = `duration_count` + excluded.`duration_count`;
END;
--> statement-breakpoint
CREATE TRIGGER `import_job_counters_delete` AFTER DELETE ON `import_jobs` BEGIN
  UPDATE `import_job_counters` SET `jobs` = `jobs` - 1, `errors` = `errors` - OLD.`error_count`, `warnings` = `warnings` - OLD.`warning_count`,
    `duration_sum` = `duration_sum` - coalesce(CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END, 0),
    `duration_count` = `duration_count` - ((CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END) IS NOT NULL)
  WHERE `tenant_id` = OLD.`tenant_id` AND `status` = OLD.`status`;
END;
--> statement-breakpoint
-- A job that changes state leaves its old state's counters and joins its new state's.
CREATE TRIGGER `import_job_counters_move` AFTER UPDATE OF `tenant_id`, `status` ON `import_jobs`
WHEN (OLD.`tenant_id`, OLD.`status`) IS NOT (NEW.`tenant_id`, NEW.`status`) BEGIN
  UPDATE `import_job_counters` SET `jobs` = `jobs` - 1, `errors` = `errors` - OLD.`error_count`, `warnings` = `warnings` - OLD.`warning_count`,
    `duration_sum` = `duration_sum` - coalesce(CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END, 0),
    `duration_count` = `duration_count` - ((CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END) IS NOT NULL)
  WHERE `tenant_id` = OLD.`tenant_id` AND `status` = OLD.`status`;
  INSERT INTO `import_job_counters` (`tenant_id`, `status`, `jobs`, `errors`, `warnings`, `duration_sum`, `duration_count`)
  VALUES (NEW.`tenant_id`, NEW.`status`, 1, NEW.`error_count`, NEW.`warning_count`,
    coalesce(CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END, 0),
    (CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END) IS NOT NULL)
  ON CONFLICT (`tenant_id`, `status`) DO UPDATE SET `jobs` = `jobs` + excluded.`jobs`, `errors` = `errors` + excluded.`errors`,
    `warnings` = `warnings` + excluded.`warnings`, `duration_sum` = `duration_sum` + excluded.`duration_sum`,
    `duration_count` = `duration_count` + excluded.`duration_count`;
END;
--> statement-breakpoint
-- A job that stays in its state but whose counted values change (a chunk's errors and warnings): one counter row update.
CREATE TRIGGER `import_job_counters_change` AFTER UPDATE OF `error_count`, `warning_count`, `started_at`, `finished_at` ON `import_jobs`
WHEN (OLD.`tenant_id`, OLD.`status`) IS (NEW.`tenant_id`, NEW.`status`)
  AND (OLD.`error_count`, OLD.`warning_count`, OLD.`started_at`, OLD.`finished_at`) IS NOT (NEW.`error_count`, NEW.`warning_count`, NEW.`started_at`, NEW.`finished_at`) BEGIN
  UPDATE `import_job_counters` SET `errors` = `errors` + NEW.`error_count` - OLD.`error_count`, `warnings` = `warnings` + NEW.`warning_count` - OLD.`warning_count`,
    `duration_sum` = `duration_sum` + coalesce(CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END, 0)
      - coalesce(CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END, 0),
    `duration_count` = `duration_count` + ((CASE WHEN NEW.`status` = 'completed' THEN NEW.`finished_at` - NEW.`started_at` END) IS NOT NULL)
      - ((CASE WHEN OLD.`status` = 'completed' THEN OLD.`finished_at` - OLD.`started_at` END) IS NOT NULL)
  WHERE `tenant_id` = NEW.`tenant_id` AND `status` = NEW.`status`;
END;
--> statement-breakpoint
-- The jobs stored before this migration.
INSERT INTO `import_job_counters` (`tenant_id`, `status`, `jobs`, `errors`, `warnings`, `duration_sum`, `duration_count`)
SELECT `tenant_id`, `status`, count(*), coalesce(sum(`error_count`), 0), coalesce(sum(`warning_count`), 0),
  coalesce(sum(CASE WHEN `status` = 'completed' THEN `finished_at` - `started_at` END), 0),
  count(CASE WHEN `status` = 'completed' THEN `finished_at` - `started_at` END)
FROM `import_jobs` GROUP BY `tenant_id`, `status`;
