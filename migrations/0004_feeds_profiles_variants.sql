CREATE TABLE `import_profiles` (
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`mapping` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `name`)
);
--> statement-breakpoint
ALTER TABLE `import_errors` ADD `severity` text DEFAULT 'error' NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `ignored_columns_omitted` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `ignored_omitted_keys` text DEFAULT '[]' NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `skipped_rows` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `warning_count` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `encoding` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `profile` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `preset` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `mapping` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `source_state` text;--> statement-breakpoint
ALTER TABLE `products` ADD `variant_group` text;--> statement-breakpoint
ALTER TABLE `products` ADD `options` text DEFAULT '{}' NOT NULL;--> statement-breakpoint
CREATE INDEX `products_tenant_group` ON `products` (`tenant_id`,`variant_group`,`sku_key`);