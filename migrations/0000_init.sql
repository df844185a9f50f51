CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`prefix` text NOT NULL,
	`key_hash` text NOT NULL,
	`scopes` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE INDEX `api_keys_tenant` ON `api_keys` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`tenant_id` text NOT NULL,
	`key` text NOT NULL,
	`fingerprint` text NOT NULL,
	`response_status` integer,
	`response_body` text,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `key`)
);
--> statement-breakpoint
CREATE INDEX `idempotency_keys_expires` ON `idempotency_keys` (`expires_at`);--> statement-breakpoint
CREATE TABLE `import_errors` (
	`job_id` text NOT NULL,
	`seq` integer NOT NULL,
	`line` integer NOT NULL,
	`column` text,
	`code` text NOT NULL,
	`message` text NOT NULL,
	`value` text,
	PRIMARY KEY(`job_id`, `seq`)
);
--> statement-breakpoint
CREATE TABLE `import_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`status` text NOT NULL,
	`format` text NOT NULL,
	`file_name` text,
	`object_key` text NOT NULL,
	`size_bytes` integer NOT NULL,
	`dry_run` integer NOT NULL,
	`options` text NOT NULL,
	`columns` text,
	`delimiter` text,
	`cursor_byte` integer DEFAULT 0 NOT NULL,
	`cursor_line` integer DEFAULT 1 NOT NULL,
	`total_rows` integer,
	`processed_rows` integer DEFAULT 0 NOT NULL,
	`created` integer DEFAULT 0 NOT NULL,
	`updated` integer DEFAULT 0 NOT NULL,
	`unchanged` integer DEFAULT 0 NOT NULL,
	`rejected_rows` integer DEFAULT 0 NOT NULL,
	`error_count` integer DEFAULT 0 NOT NULL,
	`ignored_columns` text DEFAULT '[]' NOT NULL,
	`failure_reason` text,
	`failed_attempts` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`queued_at` integer,
	`started_at` integer,
	`finished_at` integer,
	`heartbeat_at` integer NOT NULL,
	`object_deleted_at` integer
);
--> statement-breakpoint
CREATE INDEX `import_jobs_tenant_recent` ON `import_jobs` (`tenant_id`,"created_at" DESC,"id" DESC);--> statement-breakpoint
CREATE INDEX `import_jobs_tenant_summary` ON `import_jobs` (`tenant_id`,`status`,`error_count`,`started_at`,`finished_at`);--> statement-breakpoint
CREATE INDEX `import_jobs_status_heartbeat` ON `import_jobs` (`status`,`heartbeat_at`);--> statement-breakpoint
CREATE INDEX `import_jobs_finished` ON `import_jobs` (`finished_at`);--> statement-breakpoint
CREATE TABLE `products` (
	`tenant_id` text NOT NULL,
	`sku_key` text NOT NULL,
	`sku` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`price_minor` integer NOT NULL,
	`currency` text NOT NULL,
	`stock` integer NOT NULL,
	`status` text NOT NULL,
	`brand` text,
	`category` text,
	`barcode` text,
	`image_url` text,
	`tags` text DEFAULT '[]' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `sku_key`)
);
--> statement-breakpoint
CREATE INDEX `products_tenant_updated` ON `products` (`tenant_id`,`updated_at`);--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`slug` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_slug_unique` ON `tenants` (`slug`);