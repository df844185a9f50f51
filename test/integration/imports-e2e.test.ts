import { describe, expect, it } from "vitest";
import { createTenant, request } from "../helpers.ts";
import { importFile, rowErrors } from "../imports-helpers.ts";

const HEADER = "sku,name,price,currency,stock,status,tags\n";

describe("CSV import end to end", () => {
  it("uploads, processes through the queue and upserts products", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `${HEADER}A-1,Shirt,19.99,USD,5,active,"summer,cotton"\nB-2,Mug,7,EUR,,draft,\n`);
    expect(job).toMatchObject({ status: "completed", total_rows: 2, processed_rows: 2, created: 2, updated: 0, unchanged: 0, error_count: 0 });
    const res = await request("/api/v1/products/a-1", { key: t.key });
    expect(await res.json()).toMatchObject({ sku: "A-1", name: "Shirt", price: "19.99", currency: "USD", stock: 5, tags: ["summer", "cotton"] });
  });

  it("reports row errors with line, column, code and value", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `${HEADER}A-1,Shirt,19.999,USD,5,active,\n"B\n2",Mug,7,EUR,1,active,\nC-3,Cap\n`);
    expect(job).toMatchObject({ status: "completed", processed_rows: 3, created: 0 });
    const errors = await rowErrors(t.key, job.id);
    expect(errors[0]).toMatchObject({ line: 2, column: "price", code: "too_many_decimals", value: "19.999" });
    expect(errors.find((e) => e.line === 3)).toMatchObject({ column: "sku" });
    expect(errors.find((e) => e.line === 5)).toMatchObject({ code: "ragged_row", column: null });
  });
});
