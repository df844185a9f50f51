DROP INDEX `import_jobs_revert_of`;--> statement-breakpoint
CREATE INDEX `import_jobs_reverts` ON `import_jobs` (`revert_of`,`revert_cursor`) WHERE "import_jobs"."revert_of" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `import_jobs_revert_of` ON `import_jobs` (`revert_of`) WHERE revert_of IS NOT NULL AND dry_run = 0 AND NOT status IN ('failed', 'canceled');