CREATE TABLE `upload_parts` (
	`session_id` text NOT NULL,
	`part_number` integer NOT NULL,
	`size` integer NOT NULL,
	`etag` text NOT NULL,
	`uploaded_at` integer NOT NULL,
	PRIMARY KEY(`session_id`, `part_number`)
);
--> statement-breakpoint
CREATE TABLE `upload_sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`status` text NOT NULL,
	`job_id` text NOT NULL,
	`object_key` text NOT NULL,
	`r2_upload_id` text NOT NULL,
	`format` text NOT NULL,
	`file_name` text NOT NULL,
	`charset` text,
	`content_encoding` text,
	`size_bytes` integer NOT NULL,
	`part_size` integer NOT NULL,
	`part_count` integer NOT NULL,
	`completion_digest` text,
	`claimed_at` integer,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `upload_sessions_tenant_status` ON `upload_sessions` (`tenant_id`,`status`);--> statement-breakpoint
CREATE INDEX `upload_sessions_expires` ON `upload_sessions` (`expires_at`);