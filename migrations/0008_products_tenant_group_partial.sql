DROP INDEX `products_tenant_group`;--> statement-breakpoint
CREATE INDEX `products_tenant_group` ON `products` (`tenant_id`,`variant_group`,`sku_key`) WHERE "products"."variant_group" IS NOT NULL;