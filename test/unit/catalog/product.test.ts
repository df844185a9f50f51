import { describe, expect, it } from "vitest";
import { z } from "zod";
import { adversarialCell, MIB } from "../../adversarial-cells.ts";
import { productColumns, productFields } from "../../../src/catalog/fields.ts";
import {
  productResponseSchema,
  productStatuses,
  validateProductRow,
  type ProductInput,
  type RowFieldError,
} from "../../../src/catalog/product.ts";

/** A valid CSV row: every value a string, blanks as "". */
function csvRow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    sku: "TSHIRT-RED-M",
    name: "Red T-Shirt",
    description: "",
    price: "19.99",
    currency: "",
    stock: "12",
    status: "",
    brand: "",
    category: "",
    image_url: "",
    barcode: "",
    tags: "",
    ...overrides,
  };
}

function validProduct(row: Record<string, unknown>, defaultCurrency = "USD"): ProductInput {
  const result = validateProductRow(row, defaultCurrency);
  if (!result.ok) throw new Error(`expected a valid row, got ${JSON.stringify(result.errors)}`);
  return result.product;
}

function errorsOf(row: Record<string, unknown>, defaultCurrency = "USD"): RowFieldError[] {
  const result = validateProductRow(row, defaultCurrency);
  if (result.ok) throw new Error(`expected errors, got ${JSON.stringify(result.product)}`);
  return result.errors;
}

/** Asserts the row has exactly one error, on `column` with `code`, and returns it. */
function singleError(row: Record<string, unknown>, column: string, code: string, defaultCurrency = "USD"): RowFieldError {
  const errors = errorsOf(row, defaultCurrency);
  expect(errors.map((e) => [e.column, e.code])).toEqual([[column, code]]);
  const [error] = errors;
  if (error === undefined) throw new Error("unreachable");
  expect(error.message).toMatch(/^[A-Z].*\.$/);
  return error;
}

describe("a complete valid row", () => {
  it("normalises a CSV row", () => {
    const product = validProduct(
      csvRow({
        sku: "  TShirt-Red-M ",
        name: "  Red T-Shirt  ",
        description: "  Soft cotton.  ",
        price: "19.99",
        currency: "eur",
        stock: "12",
        status: "Draft",
        brand: " Acme ",
        category: " Apparel > Shirts ",
        image_url: " https://cdn.example.com/img/red.jpg ",
        barcode: "4006381333931",
        tags: "summer, Cotton, ,cotton ,SUMMER,sale",
      }),
    );
    expect(product).toEqual({
      sku: "TShirt-Red-M",
      skuKey: "tshirt-red-m",
      name: "Red T-Shirt",
      description: "Soft cotton.",
      priceMinor: 1999,
      currency: "EUR",
      stock: 12,
      status: "draft",
      brand: "Acme",
      category: "Apparel > Shirts",
      barcode: "4006381333931",
      imageUrl: "https://cdn.example.com/img/red.jpg",
      tags: ["summer", "Cotton", "sale"],
      pendingPrice: undefined,
      group: undefined,
      options: undefined,
    } satisfies ProductInput);
  });

  it("fills blanks with defaults and nulls", () => {
    expect(validProduct(csvRow({ stock: "" }))).toEqual({
      sku: "TSHIRT-RED-M",
      skuKey: "tshirt-red-m",
      name: "Red T-Shirt",
      description: null,
      priceMinor: 1999,
      currency: "USD",
      stock: 0,
      status: "active",
      brand: null,
      category: null,
      barcode: null,
      imageUrl: null,
      tags: [],
      pendingPrice: undefined,
      group: undefined,
      options: undefined,
    } satisfies ProductInput);
  });

  it("normalises an NDJSON row with JSON types, nulls and absent keys", () => {
    const product = validProduct({
      sku: "A-1",
      name: "Mug",
      description: null,
      price: 12.5,
      currency: "gbp",
      stock: 3,
      status: "ARCHIVED",
      brand: null,
      image_url: "http://example.com/mug.png",
      barcode: "96385074",
      tags: ["Kitchen", " kitchen ", "gift", ""],
    });
    expect(product).toEqual({
      sku: "A-1",
      skuKey: "a-1",
      name: "Mug",
      description: null,
      priceMinor: 1250,
      currency: "GBP",
      stock: 3,
      status: "archived",
      brand: null,
      // Absent keys are fields the row leaves alone.
      category: undefined,
      barcode: "96385074",
      imageUrl: "http://example.com/mug.png",
      tags: ["Kitchen", "gift"],
      pendingPrice: undefined,
      group: undefined,
      options: undefined,
    } satisfies ProductInput);
  });

  it("needs only a sku; the fields a row does not give are undefined", () => {
    expect(validProduct({ sku: "X", stock: "7" })).toMatchObject({ sku: "X", name: undefined, priceMinor: undefined, currency: undefined, stock: 7, tags: undefined });
    expect(validProduct({ sku: "X", currency: "JPY", price: "1200" })).toMatchObject({ priceMinor: 1200, currency: "JPY", pendingPrice: undefined });
  });

  it("keeps a price without a currency as a decimal, for the product's currency to settle", () => {
    expect(validProduct({ sku: "X", price: "19.999" })).toMatchObject({ priceMinor: undefined, currency: undefined, pendingPrice: { whole: "19", fraction: "999" } });
  });

  it("with blank_cells=keep, leaves the fields of blank cells alone instead of clearing them", () => {
    const keep = validateProductRow({ sku: "X", name: " ", price: "", stock: "", brand: null, tags: "a" }, "USD", "keep");
    expect(keep).toMatchObject({ ok: true, product: { name: undefined, priceMinor: undefined, stock: undefined, brand: undefined, tags: ["a"] } });
    expect(validateProductRow({ sku: "X", stock: "", brand: null }, "USD", "clear")).toMatchObject({ ok: true, product: { stock: 0, brand: null } });
    expect(validateProductRow({ sku: "X", name: "" }, "USD", "clear")).toMatchObject({ ok: false, errors: [{ column: "name", code: "required" }] });
  });

  it("reads options as an object or its JSON text, bounded, names unique whatever their case", () => {
    expect(validProduct({ sku: "X", options: '{"Color": " Green ", "Size": 42}', group: " tee " })).toMatchObject({ options: { Color: "Green", Size: "42" }, group: "tee" });
    expect(validProduct({ sku: "X", options: "" })).toMatchObject({ options: {} });
    expect(errorsOf({ sku: "X", options: "Color=Green" })).toMatchObject([{ column: "options", code: "invalid_options" }]);
    expect(errorsOf({ sku: "X", options: { a: "1", A: "2" } })).toMatchObject([{ column: "options", code: "invalid_options" }]);
    expect(errorsOf({ sku: "X", options: { a: ["x"] } })).toMatchObject([{ column: "options", code: "invalid_type" }]);
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`o${i}`, "v"]));
    expect(errorsOf({ sku: "X", options: eleven })).toMatchObject([{ column: "options", code: "too_many_options" }]);
  });

  it("ignores columns it does not know", () => {
    const product = validProduct(csvRow({ colour: "red", weight: 12 }));
    expect(product).not.toHaveProperty("colour");
    expect(Object.keys(product).sort()).toEqual(
      ["sku", "skuKey", "name", "description", "priceMinor", "pendingPrice", "currency", "stock", "status", "brand", "category", "barcode", "imageUrl", "tags", "group", "options"].sort(),
    );
  });
});

describe("sku", () => {
  it.each([
    ["A", "A"],
    ["abc-123_X.Y/Z", "abc-123_X.Y/Z"],
    ["!~#$%&'()*+,:;<=>?@[]^`{|}", "!~#$%&'()*+,:;<=>?@[]^`{|}"],
    ["S".repeat(64), "S".repeat(64)],
    ["  SKU-1\t", "SKU-1"],
  ])("accepts %j as %j", (sku, expected) => {
    const product = validProduct(csvRow({ sku }));
    expect(product.sku).toBe(expected);
    expect(product.skuKey).toBe(expected.toLowerCase());
  });

  it("lower-cases skuKey for case-insensitive uniqueness", () => {
    expect(validProduct(csvRow({ sku: "AbC-9" })).skuKey).toBe("abc-9");
  });

  it.each(["", "   ", null, undefined])("requires a value (%j)", (sku) => {
    expect(singleError(csvRow({ sku }), "sku", "required").message).toBe("SKU is required.");
  });

  it("rejects more than 64 characters", () => {
    const error = singleError(csvRow({ sku: "S".repeat(65) }), "sku", "too_long");
    expect(error.message).toBe("SKU is too long: 65 characters, the limit is 64.");
  });

  it.each(["AB C", "AB\tC", "A\nB", "A\u00a0B"])("rejects inner whitespace in %j", (sku) => {
    const error = singleError(csvRow({ sku }), "sku", "invalid_sku");
    expect(error.message).toBe(`SKU ${JSON.stringify(sku)} must not contain spaces or other whitespace.`);
  });

  it.each(["CAFÉ-1", "SKU–1", "SKU\u0000", "📦-1"])("rejects non-printable-ASCII %j", (sku) => {
    expect(singleError(csvRow({ sku }), "sku", "invalid_sku").message).toMatch(
      /^SKU ".+" contains ".+"; only unaccented letters, digits and ASCII punctuation are allowed\.$/,
    );
  });

  it("rejects a JSON number", () => {
    expect(singleError(csvRow({ sku: 12345 }), "sku", "invalid_type").message).toBe("SKU must be text, not a number.");
  });
});

describe("name", () => {
  it("trims and keeps up to 255 characters", () => {
    expect(validProduct(csvRow({ name: `  ${"n".repeat(255)}  ` })).name).toBe("n".repeat(255));
  });

  it("counts characters, not UTF-16 units", () => {
    expect(validProduct(csvRow({ name: "😀".repeat(255) })).name).toBe("😀".repeat(255));
    singleError(csvRow({ name: "😀".repeat(256) }), "name", "too_long");
  });

  it.each(["", "  \t ", null])("is required (%j)", (name) => {
    expect(singleError(csvRow({ name }), "name", "required").message).toBe("Name is required.");
  });

  it("rejects more than 255 characters", () => {
    const error = singleError(csvRow({ name: "n".repeat(256) }), "name", "too_long");
    expect(error.message).toBe("Name is too long: 256 characters, the limit is 255.");
  });

  it.each([true, 42, ["a"], { a: 1 }])("rejects the JSON value %j", (name) => {
    singleError(csvRow({ name }), "name", "invalid_type");
  });
});

describe("description", () => {
  it("is optional: blank becomes null", () => {
    expect(validProduct(csvRow({ description: "   " })).description).toBeNull();
    expect(validProduct(csvRow({ description: null })).description).toBeNull();
  });

  it("keeps up to 10,000 characters", () => {
    expect(validProduct(csvRow({ description: "d".repeat(10_000) })).description).toHaveLength(10_000);
  });

  it("rejects more than 10,000 characters", () => {
    const error = singleError(csvRow({ description: "d".repeat(10_001) }), "description", "too_long");
    expect(error.message).toBe("Description is too long: 10001 characters, the limit is 10000.");
  });
});

describe("price", () => {
  it.each([
    ["19.99", 1999],
    ["20", 2000],
    ["0.5", 50],
    ["0", 0],
    [" 7.10 ", 710],
    ["19.990", 1999],
  ])("accepts %j as %i minor units", (price, minor) => {
    expect(validProduct(csvRow({ price })).priceMinor).toBe(minor);
  });

  it("uses the row currency's decimals", () => {
    expect(validProduct(csvRow({ price: "500", currency: "JPY" }))).toMatchObject({ priceMinor: 500, currency: "JPY" });
    expect(validProduct(csvRow({ price: "1.5", currency: "kwd" }))).toMatchObject({ priceMinor: 1500, currency: "KWD" });
    expect(validProduct(csvRow({ price: "1.234" }), "BHD")).toMatchObject({ priceMinor: 1234, currency: "BHD" });
  });

  it.each([
    ["1,299.00", "thousands_separator"],
    ["1.299,00", "thousands_separator"],
    ["19,99", "decimal_comma"],
    ["$19.99", "currency_symbol"],
    ["19.99 €", "currency_symbol"],
    ["1e3", "scientific_notation"],
    ["-5", "negative"],
    ["abc", "invalid_price"],
    ["", "required"],
    ["  ", "required"],
    ["90071992547409.92", "too_large"],
  ])("rejects %j with %s", (price, code) => {
    const error = singleError(csvRow({ price }), "price", code);
    expect(error.value).toBe(price);
    expect(error.message.startsWith("Price")).toBe(true);
  });

  it("rejects too many decimals for the currency", () => {
    const usd = singleError(csvRow({ price: "19.999" }), "price", "too_many_decimals");
    expect(usd.message).toBe("Price has too many decimal places: USD allows at most 2 decimal places.");
    const jpy = singleError(csvRow({ price: "5.5", currency: "JPY" }), "price", "too_many_decimals");
    expect(jpy.message).toBe("Price has too many decimal places: JPY has no decimal places.");
    singleError(csvRow({ price: "5.5" }), "price", "too_many_decimals", "JPY");
  });

  it("skips the decimals check when the currency itself is invalid", () => {
    singleError(csvRow({ price: "19.999", currency: "XYZ" }), "currency", "invalid_currency");
  });

  it("is left alone when absent, and cannot be cleared", () => {
    const { price: _omitted, currency: _currency, ...row } = csvRow();
    expect(validProduct(row)).toMatchObject({ priceMinor: undefined, pendingPrice: undefined });
    // A currency without a price would change what the stored price means.
    singleError({ ...row, currency: "JPY" }, "currency", "currency_without_price");
    singleError(csvRow({ price: null }), "price", "required");
    singleError(csvRow({ price: " " }), "price", "required");
  });

  describe("as a JSON number", () => {
    it.each([
      [19.99, 1999],
      [20, 2000],
      [0.5, 50],
      [0, 0],
      [1e13, 1e15],
    ])("accepts %d", (price, minor) => {
      expect(validProduct(csvRow({ price })).priceMinor).toBe(minor);
    });

    it("accepts whole numbers for a zero-decimal currency", () => {
      expect(validProduct(csvRow({ price: 500 }), "JPY").priceMinor).toBe(500);
    });

    it.each([
      [0.1 + 0.2, "too_many_decimals"],
      [19.999, "too_many_decimals"],
      [1e21, "scientific_notation"],
      [1e-7, "scientific_notation"],
      [-5, "negative"],
      [Number.NaN, "invalid_price"],
      [Number.POSITIVE_INFINITY, "invalid_price"],
    ])("rejects %d with %s", (price, code) => {
      singleError(csvRow({ price }), "price", code);
    });

    it("rejects a float as too precise for a zero-decimal currency", () => {
      singleError(csvRow({ price: 5.5 }), "price", "too_many_decimals", "JPY");
    });
  });

  it.each([true, ["19.99"], { amount: 1 }])("rejects the JSON value %j", (price) => {
    singleError(csvRow({ price }), "price", "invalid_type");
  });
});

describe("currency", () => {
  it("defaults to the import's currency when blank", () => {
    expect(validProduct(csvRow({ currency: "" }), "EUR").currency).toBe("EUR");
    expect(validProduct(csvRow({ currency: "  " }), "EUR").currency).toBe("EUR");
    expect(validProduct(csvRow({ currency: null }), "EUR").currency).toBe("EUR");
  });

  it.each(["usd", "Usd", " eur ", "JPY"])("accepts %j in any case and stores it upper case", (currency) => {
    expect(validProduct(csvRow({ currency, price: "1" })).currency).toBe(currency.trim().toUpperCase());
  });

  it.each(["XYZ", "US", "dollars", "$", "BGN", "XAU"])("rejects %j", (currency) => {
    const error = singleError(csvRow({ currency }), "currency", "invalid_currency");
    expect(error.value).toBe(currency);
  });

  it("rejects a JSON number", () => {
    singleError(csvRow({ currency: 840 }), "currency", "invalid_type");
  });
});

describe("stock", () => {
  it.each([
    ["12", 12],
    ["0", 0],
    ["", 0],
    [" 7 ", 7],
    ["007", 7],
    ["2147483647", 2_147_483_647],
    [12, 12],
    [0, 0],
    [-0, 0],
    [null, 0],
  ])("accepts %j as %i", (stock, expected) => {
    expect(validProduct(csvRow({ stock })).stock).toBe(expected);
  });

  it("stores negative zero as zero", () => {
    expect(Object.is(validProduct(csvRow({ stock: -0 })).stock, 0)).toBe(true);
  });

  it.each([
    ["1.5", "invalid_integer"],
    ["abc", "invalid_integer"],
    ["12 pcs", "invalid_integer"],
    ["1,000", "invalid_integer"],
    ["1e3", "invalid_integer"],
    ["-1", "negative"],
    ["2147483648", "too_large"],
    ["99999999999999999999", "too_large"],
    [1.5, "invalid_integer"],
    [-1, "negative"],
    [2_147_483_648, "too_large"],
    [true, "invalid_type"],
    [["1"], "invalid_type"],
  ])("rejects %j with %s", (stock, code) => {
    singleError(csvRow({ stock }), "stock", code);
  });
});

describe("status", () => {
  it("exports the statuses", () => {
    expect(productStatuses).toEqual(["active", "draft", "archived"]);
  });

  it.each([
    ["", "active"],
    [null, "active"],
    ["active", "active"],
    ["DRAFT", "draft"],
    [" Archived ", "archived"],
  ])("accepts %j as %s", (status, expected) => {
    expect(validProduct(csvRow({ status })).status).toBe(expected);
  });

  it.each(["published", "enabled", "1", "act ive"])("rejects %j", (status) => {
    const error = singleError(csvRow({ status }), "status", "invalid_status");
    expect(error.message).toBe(`Status "${status}" is not valid; use active, draft or archived.`);
  });

  it("rejects a JSON boolean", () => {
    expect(singleError(csvRow({ status: true }), "status", "invalid_type").message).toBe(
      "Status must be text, not true/false.",
    );
  });
});

describe("brand and category", () => {
  it.each(["brand", "category"] as const)("%s is optional, trimmed, and limited to 255 characters", (column) => {
    expect(validProduct(csvRow({ [column]: "" }))[column]).toBeNull();
    expect(validProduct(csvRow({ [column]: "  Acme  " }))[column]).toBe("Acme");
    expect(validProduct(csvRow({ [column]: "b".repeat(255) }))[column]).toHaveLength(255);
    singleError(csvRow({ [column]: "b".repeat(256) }), column, "too_long");
  });
});

describe("image_url", () => {
  it.each([
    "https://cdn.example.com/a.jpg",
    "http://example.com/images/a.png?size=large#top",
    "HTTPS://EXAMPLE.COM/A.PNG",
    "https://localhost:8443/a.webp",
  ])("accepts %s", (url) => {
    expect(validProduct(csvRow({ image_url: url })).imageUrl).toBe(url);
  });

  it("is optional", () => {
    expect(validProduct(csvRow({ image_url: "  " })).imageUrl).toBeNull();
  });

  it.each([
    "ftp://example.com/a.jpg",
    "example.com/a.jpg",
    "/images/a.jpg",
    "https://",
    "https:///a.jpg",
    "https://exa mple.com/a.jpg",
    "https://example.com/a b.jpg",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "https://[::1/a.jpg",
  ])("rejects %j", (url) => {
    singleError(csvRow({ image_url: url }), "image_url", "invalid_url");
  });

  it("accepts 2048 characters and rejects longer", () => {
    const base = "https://example.com/";
    expect(validProduct(csvRow({ image_url: base + "a".repeat(2048 - base.length) })).imageUrl).toHaveLength(2048);
    const error = singleError(csvRow({ image_url: base + "a".repeat(2049 - base.length) }), "image_url", "too_long");
    expect(error.value).toHaveLength(200);
  });
});

describe("barcode", () => {
  it.each(["96385074", "036000291452", "4006381333931", "10614141000415"])("accepts the GTIN %s", (barcode) => {
    expect(validProduct(csvRow({ barcode })).barcode).toBe(barcode);
  });

  it("is optional and trimmed", () => {
    expect(validProduct(csvRow({ barcode: "" })).barcode).toBeNull();
    expect(validProduct(csvRow({ barcode: null })).barcode).toBeNull();
    expect(validProduct(csvRow({ barcode: " 4006381333931 " })).barcode).toBe("4006381333931");
  });

  it.each(["4006381333932", "1234567", "4006-381333931", "ABC"])("rejects %j with invalid_barcode", (barcode) => {
    singleError(csvRow({ barcode }), "barcode", "invalid_barcode");
  });

  it("explains spreadsheet scientific notation", () => {
    const error = singleError(csvRow({ barcode: "3.65275E+11" }), "barcode", "scientific_notation");
    expect(error.message).toContain("looks like a number a spreadsheet reformatted in scientific notation; format the column as text");
    singleError(csvRow({ barcode: "3,65275E+11" }), "barcode", "scientific_notation");
  });

  it("rejects a JSON number because it has lost leading zeros", () => {
    singleError(csvRow({ barcode: 4006381333931 }), "barcode", "invalid_type");
  });
});

describe("tags", () => {
  it.each([
    ["", []],
    [null, []],
    [[], []],
    ["summer", ["summer"]],
    [" a , b,,c ,", ["a", "b", "c"]],
    ["Sale, sale, SALE, new", ["Sale", "new"]],
    [["Red", "red", " Blue ", ""], ["Red", "Blue"]],
    ["Ünïcode, ünïcode", ["Ünïcode"]],
  ])("normalises %j to %j", (tags, expected) => {
    expect(validProduct(csvRow({ tags })).tags).toEqual(expected);
  });

  it("accepts 50 distinct tags and counts duplicates once", () => {
    const fifty = Array.from({ length: 50 }, (_, i) => `t${i}`);
    expect(validProduct(csvRow({ tags: fifty.join(",") })).tags).toEqual(fifty);
    expect(validProduct(csvRow({ tags: [...fifty, "T0", "t1"] })).tags).toEqual(fifty);
  });

  it("rejects more than 50 tags", () => {
    const tags = Array.from({ length: 51 }, (_, i) => `t${i}`).join(",");
    const error = singleError(csvRow({ tags }), "tags", "too_many_tags");
    expect(error.message).toBe("There are 51 different tags; the limit is 50.");
    expect(error.value).toBe(tags.slice(0, 200));
  });

  it("accepts 64-character tags and rejects longer ones", () => {
    expect(validProduct(csvRow({ tags: "t".repeat(64) })).tags).toEqual(["t".repeat(64)]);
    singleError(csvRow({ tags: `ok, ${"t".repeat(65)}` }), "tags", "tag_too_long");
    singleError(csvRow({ tags: ["ok", "t".repeat(65)] }), "tags", "tag_too_long");
  });

  it("reports both tag limits when both are broken", () => {
    const tags = [...Array.from({ length: 51 }, (_, i) => `t${i}`), "x".repeat(65)];
    expect(errorsOf(csvRow({ tags })).map((e) => e.code)).toEqual(["tag_too_long", "too_many_tags"]);
  });

  it("rejects a comma inside a JSON tag", () => {
    singleError(csvRow({ tags: ["a,b"] }), "tags", "invalid_tag");
  });

  it.each([42, true, { a: 1 }, ["ok", 3], ["ok", null]])("rejects the JSON value %j", (tags) => {
    singleError(csvRow({ tags }), "tags", "invalid_type");
  });
});

describe("validateProductRow error reporting", () => {
  it("reports every field error of a row, in column order", () => {
    const errors = errorsOf({
      sku: "BAD SKU",
      name: "",
      description: "d".repeat(10_001),
      price: "19.999",
      currency: "",
      stock: "-1",
      status: "live",
      brand: "b".repeat(256),
      category: "c".repeat(256),
      image_url: "ftp://x",
      barcode: "123",
      tags: Array.from({ length: 51 }, (_, i) => `t${i}`),
    });
    expect(errors.map((e) => [e.column, e.code])).toEqual([
      ["sku", "invalid_sku"],
      ["name", "required"],
      ["description", "too_long"],
      ["price", "too_many_decimals"],
      ["stock", "negative"],
      ["status", "invalid_status"],
      ["brand", "too_long"],
      ["category", "too_long"],
      ["image_url", "invalid_url"],
      ["barcode", "invalid_barcode"],
      ["tags", "too_many_tags"],
    ]);
    for (const error of errors) {
      expect(productColumns).toContain(error.column);
      expect(error.message).toMatch(/^[A-Z].*\.$/);
    }
  });

  it("reports the raw value as text cut to 200 characters", () => {
    const errors = errorsOf(csvRow({ name: "", description: "é".repeat(10_001), stock: 1.5, tags: ["a,b"] }));
    expect(errors).toEqual([
      { column: "name", code: "required", message: "Name is required.", value: "" },
      expect.objectContaining({ column: "description", code: "too_long", value: "é".repeat(200) }),
      expect.objectContaining({ column: "stock", code: "invalid_integer", value: "1.5" }),
      expect.objectContaining({ column: "tags", code: "invalid_tag", value: '["a,b"]' }),
    ]);
  });

  it("does not split a surrogate pair when cutting the value", () => {
    const [error] = errorsOf(csvRow({ sku: `A${"😀".repeat(150)}` }));
    expect(error?.value).toBe(`A${"😀".repeat(99)}`);
  });

  it("reports a missing sku as required (the only field every row needs)", () => {
    expect(errorsOf({}).map((e) => [e.column, e.code])).toEqual([["sku", "required"]]);
    expect(errorsOf({ name: "", price: "x" }).map((e) => [e.column, e.code])).toEqual([
      ["sku", "required"],
      ["name", "required"],
      ["price", "invalid_price"],
    ]);
  });

  it("rejects a row that is not an object", () => {
    const errors = errorsOf(null as unknown as Record<string, unknown>);
    expect(errors).toEqual([
      { column: null, code: "invalid_row", message: "The row must be an object of column values.", value: "" },
    ]);
    expect(errorsOf([] as unknown as Record<string, unknown>)[0]?.code).toBe("invalid_row");
  });

  it("throws for an invalid default currency, which is a programming error", () => {
    expect(() => validateProductRow(csvRow(), "XYZ")).toThrow(RangeError);
  });
});

describe("cell lengths", () => {
  it.each(productColumns)("refuses a mebibyte %s cell for its length, before its rule reads it", (column) => {
    const { label, maxLength } = productFields[column];
    const cell = adversarialCell(column, MIB);
    const error = singleError(csvRow({ [column]: cell }), column, "too_long");
    expect(error).toEqual({ column, code: "too_long", message: `${label} is too long: ${MIB} characters, the limit is ${maxLength}.`, value: cell.slice(0, 200) });
  });

  it("measures a cell once trimmed, in characters", () => {
    const padding = " ".repeat(MIB);
    expect(validProduct(csvRow({ name: `${padding}Shirt${padding}`, tags: `${padding}a, b${padding}` }))).toMatchObject({ name: "Shirt", tags: ["a", "b"] });
    expect(validProduct(csvRow({ name: "😀".repeat(productFields.name.maxLength) })).name).toHaveLength(2 * productFields.name.maxLength);
    const error = singleError(csvRow({ price: `${padding}${"1".repeat(65)}` }), "price", "too_long");
    expect(error.message).toBe("Price is too long: 65 characters, the limit is 64.");
  });

  it("takes the longest cells a product's fields need", () => {
    const tags = Array.from({ length: 50 }, (_, i) => `${i}`.padEnd(64, "t")).join(", ");
    // Ten options of the longest names and values, every character of them escaped in the JSON text.
    const longest = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`${i}`.padEnd(64, "é"), "é".repeat(255)]));
    const options = JSON.stringify(longest).replaceAll("é", "\\u00e9");
    expect(validProduct(csvRow({ tags, options }))).toMatchObject({ tags: { length: 50 }, options: longest });
  });
});

describe("validateProductRow result", () => {
  it("carries each problem's stable code with its column, in column order", () => {
    const result = validateProductRow(csvRow({ stock: "x", price: "1,299.00" }), "USD");
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors.map((e) => [e.column, e.code])).toEqual([
      ["price", "thousands_separator"],
      ["stock", "invalid_integer"],
    ]);
  });

  it("reports a price precision error in the price's place, after the currency is known", () => {
    const result = validateProductRow(csvRow({ sku: "", price: "12.5", currency: "JPY", stock: "-1" }), "USD");
    expect(result.ok ? [] : result.errors.map((e) => [e.column, e.code])).toEqual([
      ["sku", "required"],
      ["price", "too_many_decimals"],
      ["stock", "negative"],
    ]);
  });

  it("outputs ProductInput", () => {
    const result = validateProductRow(csvRow({ price: "1200" }), "JPY");
    expect(result).toMatchObject({ ok: true, product: { priceMinor: 1200, currency: "JPY" } });
  });
});

describe("productResponseSchema", () => {
  const sample = {
    sku: "TSHIRT-RED-M",
    name: "Red T-Shirt",
    description: null,
    price: "19.99",
    currency: "USD",
    stock: 12,
    status: "active",
    brand: "Acme",
    category: null,
    barcode: "4006381333931",
    image_url: "https://cdn.example.com/red.jpg",
    tags: ["summer"],
    group: "t-shirt",
    options: { Size: "M" },
    created_at: "2026-11-28T10:00:00.000Z",
    updated_at: "2026-11-28T10:05:00Z",
  };

  it("accepts a product as the API returns it", () => {
    expect(productResponseSchema.parse(sample)).toEqual(sample);
  });

  it.each([
    ["price", 19.99],
    ["price", "19,99"],
    ["currency", "usd"],
    ["status", "live"],
    ["tags", "summer"],
    ["created_at", "yesterday"],
    ["image_url", "not a url"],
    ["stock", -1],
  ])("rejects %s = %j", (key, value) => {
    expect(productResponseSchema.safeParse({ ...sample, [key]: value }).success).toBe(false);
  });

  it("converts to JSON Schema registered as Product", () => {
    const jsonSchema = z.toJSONSchema(productResponseSchema) as {
      $ref?: string;
      $defs?: Record<string, { type?: string; required?: string[]; properties?: Record<string, unknown> }>;
    };
    expect(jsonSchema.$ref).toBe("#/$defs/Product");
    const product = jsonSchema.$defs?.Product;
    expect(product?.type).toBe("object");
    // The fields in the field table's order, then the timestamps.
    expect(product?.required).toEqual([
      "sku",
      "name",
      "description",
      "price",
      "currency",
      "stock",
      "status",
      "brand",
      "category",
      "image_url",
      "barcode",
      "tags",
      "group",
      "options",
      "created_at",
      "updated_at",
    ]);
    expect(product?.properties?.status).toMatchObject({ enum: ["active", "draft", "archived"] });
    expect(product?.properties?.created_at).toMatchObject({ type: "string", format: "date-time" });
  });

  it("registers under the id Product in a shared registry", () => {
    expect(z.globalRegistry.get(productResponseSchema)).toMatchObject({ id: "Product" });
  });
});
