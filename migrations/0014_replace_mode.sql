CREATE TABLE `import_mentions` (
	`job_id` text NOT NULL,
	`sku_key` text NOT NULL,
	PRIMARY KEY(`job_id`, `sku_key`)
);
--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `write_seq` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `stamp_mentions` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `replace_phase` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `replace_cursor` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `would_archive` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `catalog_products` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `archive_limit` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `archived` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `confirmed_at` integer;--> statement-breakpoint
CREATE INDEX `import_jobs_tenant_write_seq` ON `import_jobs` (`tenant_id`,`write_seq`) WHERE "import_jobs"."write_seq" IS NOT NULL;--> statement-breakpoint
ALTER TABLE `products` ADD `seen_seq` integer;