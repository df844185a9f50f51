ALTER TABLE `import_jobs` ADD `content_encoding` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `inflated_bytes` integer;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `inflate_checkpoint` text;