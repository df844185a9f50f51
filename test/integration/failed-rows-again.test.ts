// A failed-rows file uploaded again (or retried) whose rows partly fail again: the new job's failed-rows file carries
// one set of problems, the latest job's, in place of the ones the earlier file wrote; the merchant's cells and members
// stay as uploaded; and the next fix imports clean.
import { describe, expect, it } from "vitest";
import { cell, ERROR_COLUMNS, failedRows, failedRowsText, messagesByLine } from "../failed-rows-helpers.ts";
import { createTenant, request } from "../helpers.ts";
import { importFile, type Job, rowErrors, waitForJob } from "../imports-helpers.ts";
import { exportFile, SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS } from "../preset-exports.ts";
import { windows1252Bytes } from "../unit/imports/parser-helpers.ts";

const NDJSON = { type: "application/x-ndjson" };

async function retried(key: string, jobId: string, body: unknown): Promise<Job> {
  const res = await request(`/api/v1/products/import/${jobId}/retry`, { method: "POST", key, body: JSON.stringify(body), headers: { "content-type": "application/json" } });
  expect(res.status).toBe(202);
  return waitForJob(key, ((await res.json()) as Job).id);
}

describe("the failed rows of a failed-rows file uploaded again", () => {
  it("in Windows-1252 with ';' and a sep line have one set of problem columns, the new job's; fixed, they import clean", async () => {
    const t = await createTenant();
    const text = 'sep=;\r\nsku;name;price;stock\r\nW-1;Café;abc;3\r\nW-2;"Crème ""brûlée""; chaude";1,00;-1\r\nW-3;Thé;x;1\r\n';
    const first = await importFile(t.key, windows1252Bytes(text));
    expect(first).toMatchObject({ status: "completed", encoding: "windows-1252", rejected_rows: 3, failed_rows: 3 });
    const once = await failedRowsText(t.key, first.id, "windows-1252");
    expect(once.split("\r\n")[1]).toBe(`sku;name;price;stock;${ERROR_COLUMNS.replaceAll(",", ";")}`);

    // The merchant fixes W-1, and W-2's price but not its stock; W-3 stays as it was.
    const partly = once.replace("W-1;Café;abc;", "W-1;Café;1.00;").replace(";1,00;-1;", ";1.00;-1;");
    const second = await importFile(t.key, windows1252Bytes(partly));
    expect(second).toMatchObject({ status: "completed", encoding: "windows-1252", created: 1, rejected_rows: 2, failed_rows: 2, ignored_columns: [] });
    const messages = await messagesByLine(t.key, second.id);
    const expected =
      `sep=;\r\nsku;name;price;stock;${ERROR_COLUMNS.replaceAll(",", ";")}\r\n` +
      `W-2;"Crème ""brûlée""; chaude";1.00;-1;4;stock;negative;${cell(messages.get(4)!, ";")}\r\n` +
      `W-3;Thé;x;1;5;price;invalid_price;${cell(messages.get(5)!, ";")}\r\n`;
    const { res, bytes } = await failedRows(t.key, second.id);
    expect(res.status).toBe(200);
    expect(new TextDecoder("windows-1252").decode(bytes)).toBe(expected);
    expect(bytes).toEqual(windows1252Bytes(expected));

    const fixed = expected.replace(";1.00;-1;", ";1.00;1;").replace("W-3;Thé;x;", "W-3;Thé;3.00;");
    const third = await importFile(t.key, windows1252Bytes(fixed));
    expect(third).toMatchObject({ status: "completed", created: 2, rejected_rows: 0, error_count: 0, failed_rows: 0, ignored_columns: [] });
  });

  it("in NDJSON have one _errors member, the new job's, wherever the old one was; every other member as uploaded", async () => {
    const t = await createTenant();
    const lines = [
      '{"sku":"N-1","name":"Mug","price":"bad"}',
      '{ "sku" : "N-2", "name": "Caf\\u00e9", "price": "-1.50", "stock": "x" }',
      '{"sku":"N-3","name":"Jar","price":"x"}',
      '{"sku":"N-4","name":"Lid","price":"4.00"}',
    ];
    const first = await importFile(t.key, `${lines.join("\n")}\n`, NDJSON);
    expect(first).toMatchObject({ status: "completed", created: 1, rejected_rows: 3, failed_rows: 3 });
    const [one, two, three] = (await failedRowsText(t.key, first.id)).split("\n");
    const oldErrors = JSON.parse(three!)._errors as unknown[];

    // N-1 is fixed, N-2's price but not its stock; N-3 comes with its old problems moved to the front.
    const partly = [one!.replace('"bad"', '"1.00"'), two!.replace('"-1.50"', '"1.50"'), `{"_errors":${JSON.stringify(oldErrors)},"sku":"N-3","name":"Jar","price":"x"}`];
    const second = await importFile(t.key, `${partly.join("\n")}\n`, NDJSON);
    expect(second).toMatchObject({ status: "completed", created: 1, rejected_rows: 2, failed_rows: 2, ignored_columns: [] });
    const errors = await rowErrors(t.key, second.id);
    const errorsOf = (line: number) => JSON.stringify(errors.filter((e) => e.line === line).map(({ line: l, column, code, message }) => ({ line: l, column, code, message })));
    expect(errorsOf(2)).toContain('"stock"');
    const body = await failedRowsText(t.key, second.id);
    expect(body).toBe(
      `{ "sku" : "N-2", "name": "Caf\\u00e9", "price": "1.50", "stock": "x" ,"_errors":${errorsOf(2)}}\n` + `{"sku":"N-3","name":"Jar","price":"x","_errors":${errorsOf(3)}}\n`,
    );

    const fixed = body
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.stringify({ ...(JSON.parse(line) as object), stock: "2", price: "3.00" }));
    const third = await importFile(t.key, `${fixed.join("\n")}\n`, NDJSON);
    expect(third).toMatchObject({ status: "completed", created: 2, rejected_rows: 0, error_count: 0, failed_rows: 0, ignored_columns: [] });
  });

  it("of a Shopify export bring the product row along once, its context cells replaced; fixed, they import clean", async () => {
    const t = await createTenant();
    const rows = SHOPIFY_ROWS.map((row) => (row["Variant SKU"] === "TS-GREEN-L" ? { ...row, "Variant Price": "19,99" } : row));
    rows.splice(3, 0, { ...(SHOPIFY_ROWS[2] as Record<string, string>), "Variant SKU": "TS-BLUE-L", "Option2 Value": "L", "Variant Price": "$21" });
    const file = exportFile(SHOPIFY_CLASSIC_HEADER, rows);
    const first = await importFile(t.key, file);
    expect(first).toMatchObject({ status: "completed", failed_rows: 3 });
    const once = await failedRowsText(t.key, first.id);

    // Only the green t-shirt's price is fixed: the blue one and the trousers' variant without a SKU fail again.
    const second = await importFile(t.key, once.replace('"19,99"', "19.99"));
    expect(second).toMatchObject({ status: "completed", rejected_rows: 1, skipped_rows: 1, failed_rows: 2, error_count: 1, warning_count: 1 });
    const messages = await messagesByLine(t.key, second.id);
    const lines = file.split("\n");
    const context = "The first row of this product: its product cells (title, description, vendor, status, …) go with the failed variants below. It is imported again with them.";
    const body = await failedRowsText(t.key, second.id);
    expect(body).toBe(
      [
        `${lines[0]},${ERROR_COLUMNS}`,
        `${lines[1]},2,,context,${cell(context)}`,
        `${lines[4]},4,price,currency_symbol,${cell(messages.get(4)!)}`,
        `${lines[7]},5,sku,variant_without_sku,${cell(messages.get(5)!)}`,
        "",
      ].join("\n"),
    );

    const third = await importFile(t.key, body.replace("$21", "21.00").replace("Waist,30,,,,,,", "Waist,30,,,,,PANTS-30,"));
    expect(third).toMatchObject({ status: "completed", processed_rows: 3, created: 2, unchanged: 1, rejected_rows: 0, skipped_rows: 0, error_count: 0, warning_count: 0 });
  });

  it("keep the earlier problems as cells of the record when the merchant moved their columns, and add the new set after", async () => {
    const t = await createTenant();
    const job = await importFile(t.key, `sku,_error_code,name,price,_error_line\nM-1,old,Mop,bad,7\n`);
    expect(job).toMatchObject({ rejected_rows: 1, ignored_columns: [] });
    const [error] = await rowErrors(t.key, job.id);
    expect(await failedRowsText(t.key, job.id)).toBe(`sku,_error_code,name,price,_error_line,${ERROR_COLUMNS}\nM-1,old,Mop,bad,7,2,price,invalid_price,${cell(error!.message)}\n`);
  });
});

describe("the failed rows of a retry", () => {
  it("have one set of problem columns, the retry's, retry after retry", async () => {
    const t = await createTenant();
    const original = await importFile(t.key, "sku,name,price,stock\nR-1,One,5.5,1\nR-2,Two,x,1\nR-3,Three,7,-1\n", { query: "currency=JPY" });
    expect(original).toMatchObject({ status: "completed", rejected_rows: 3, failed_rows: 3 });

    // In USD R-1's price reads: the other two fail again, on lines 3 and 4 of the retry's file.
    let job = await retried(t.key, original.id, { currency: "USD" });
    expect(job).toMatchObject({ status: "completed", created: 1, rejected_rows: 2, failed_rows: 2, ignored_columns: [] });
    for (const lines of [
      [3, 4],
      [2, 3],
    ]) {
      const messages = await messagesByLine(t.key, job.id);
      expect(await failedRowsText(t.key, job.id)).toBe(
        `sku,name,price,stock,${ERROR_COLUMNS}\n` +
          `R-2,Two,x,1,${lines[0]},price,invalid_price,${cell(messages.get(lines[0]!)!)}\n` +
          `R-3,Three,7,-1,${lines[1]},stock,negative,${cell(messages.get(lines[1]!)!)}\n`,
      );
      job = await retried(t.key, job.id, { currency: "USD" });
      expect(job).toMatchObject({ status: "completed", rejected_rows: 2, failed_rows: 2 });
    }

    const fixed = (await failedRowsText(t.key, job.id)).replace("R-2,Two,x,", "R-2,Two,2.00,").replace("R-3,Three,7,-1,", "R-3,Three,7,1,");
    const clean = await importFile(t.key, fixed, { query: "currency=USD" });
    expect(clean).toMatchObject({ status: "completed", created: 2, rejected_rows: 0, error_count: 0, failed_rows: 0, ignored_columns: [] });
  });
});
