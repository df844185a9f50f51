CREATE TABLE `import_failed_records` (
	`job_id` text NOT NULL,
	`byte_start` integer NOT NULL,
	`byte_end` integer NOT NULL,
	`line` integer NOT NULL,
	`context_start` integer,
	`context_end` integer,
	`context_line` integer,
	`problems` text NOT NULL,
	PRIMARY KEY(`job_id`, `byte_start`)
);
--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `failed_records` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `header_bytes` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `retry_of` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `retry_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `latest_retry` text;