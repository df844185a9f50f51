CREATE TABLE `import_revisions` (
	`job_id` text NOT NULL,
	`sku_key` text NOT NULL,
	`previous` text,
	`version` integer NOT NULL,
	PRIMARY KEY(`job_id`, `sku_key`)
) WITHOUT ROWID;
--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `kind` text DEFAULT 'import' NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `revert_of` text;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `keep_revisions` integer DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `reverted` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `kept` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `import_jobs` ADD `revert_cursor` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `import_jobs_revert_of` ON `import_jobs` (`revert_of`) WHERE "import_jobs"."revert_of" IS NOT NULL AND "import_jobs"."dry_run" = 0;--> statement-breakpoint
ALTER TABLE `products` ADD `version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- import_revisions is created WITHOUT ROWID (by hand: drizzle cannot say so): a revision is written once per product an
-- import changes, and stored in its primary key alone it costs one b-tree write instead of a table row and an index entry.
-- The revisions an import keeps to be reverted (see import_revisions in src/db/schema.ts). The products an import's
-- upsert writes carry its write sequence (seen_seq), which names the job: one seek into import_jobs_tenant_write_seq.
-- Running inside the upsert, a chunk's revisions commit with it or not at all, and a guarded statement that writes
-- nothing (a redelivery) records nothing. The first pre-image of a product stays; the version is the import's last.
-- `previous` lists the product's stored columns in the field table's order (src/catalog/fields.ts; the revert reads
-- them by position, and a test holds this list to the table).
CREATE TRIGGER `import_revisions_insert` AFTER INSERT ON `products` WHEN NEW.`seen_seq` IS NOT NULL BEGIN
  INSERT INTO `import_revisions` (`job_id`, `sku_key`, `previous`, `version`)
  SELECT j.`id`, NEW.`sku_key`, NULL, NEW.`version` FROM `import_jobs` AS j
  WHERE j.`tenant_id` = NEW.`tenant_id` AND j.`write_seq` = NEW.`seen_seq` AND j.`keep_revisions`
  ON CONFLICT (`job_id`, `sku_key`) DO UPDATE SET `version` = excluded.`version`;
END;
--> statement-breakpoint
-- An update that stamps the product (the upsert, a replace-mode archive) and changes its values; a stamp alone (a
-- replace-mode import naming a product it does not change) changes none of them and records nothing.
CREATE TRIGGER `import_revisions_update` AFTER UPDATE OF `seen_seq` ON `products`
WHEN NEW.`seen_seq` IS NOT NULL AND (OLD.`sku`, OLD.`name`, OLD.`description`, OLD.`price_minor`, OLD.`currency`, OLD.`stock`, OLD.`status`, OLD.`brand`, OLD.`category`, OLD.`image_url`, OLD.`barcode`, OLD.`tags`, OLD.`variant_group`, OLD.`options`) IS NOT (NEW.`sku`, NEW.`name`, NEW.`description`, NEW.`price_minor`, NEW.`currency`, NEW.`stock`, NEW.`status`, NEW.`brand`, NEW.`category`, NEW.`image_url`, NEW.`barcode`, NEW.`tags`, NEW.`variant_group`, NEW.`options`) BEGIN
  INSERT INTO `import_revisions` (`job_id`, `sku_key`, `previous`, `version`)
  SELECT j.`id`, NEW.`sku_key`, json_array(OLD.`sku`, OLD.`name`, OLD.`description`, OLD.`price_minor`, OLD.`currency`, OLD.`stock`, OLD.`status`, OLD.`brand`, OLD.`category`, OLD.`image_url`, OLD.`barcode`, OLD.`tags`, OLD.`variant_group`, OLD.`options`), NEW.`version` FROM `import_jobs` AS j
  WHERE j.`tenant_id` = NEW.`tenant_id` AND j.`write_seq` = NEW.`seen_seq` AND j.`keep_revisions`
  ON CONFLICT (`job_id`, `sku_key`) DO UPDATE SET `version` = excluded.`version`;
END;
