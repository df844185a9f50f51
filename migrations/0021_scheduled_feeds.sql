CREATE TABLE `feed_fetches` (
	`id` text PRIMARY KEY NOT NULL,
	`feed_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`trigger` text NOT NULL,
	`outcome` text NOT NULL,
	`http_status` integer,
	`bytes` integer,
	`job_id` text,
	`reason` text,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `feed_fetches_feed_recent` ON `feed_fetches` (`feed_id`,"started_at" DESC,"id" DESC);--> statement-breakpoint
CREATE TABLE `feeds` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text,
	`url` text NOT NULL,
	`every_minutes` integer,
	`daily_at` text,
	`upload_options` text NOT NULL,
	`format` text,
	`charset` text,
	`credential_type` text,
	`credential_header` text,
	`sealed_credentials` text,
	`status` text NOT NULL,
	`paused_reason` text,
	`consecutive_failures` integer DEFAULT 0 NOT NULL,
	`next_run_at` integer NOT NULL,
	`etag` text,
	`last_modified` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `feeds_tenant_recent` ON `feeds` (`tenant_id`,"created_at" DESC,"id" DESC);--> statement-breakpoint
CREATE INDEX `feeds_due` ON `feeds` (`next_run_at`) WHERE "feeds"."status" = 'active';--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `feed_id` text;