ALTER TABLE `import_jobs` ADD `cancel_requested_at` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `canceled_at` integer;