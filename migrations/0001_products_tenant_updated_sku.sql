DROP INDEX `products_tenant_updated`;--> statement-breakpoint
CREATE INDEX `products_tenant_updated` ON `products` (`tenant_id`,`updated_at`,`sku_key`);