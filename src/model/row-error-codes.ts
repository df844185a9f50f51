// Every code a row error or warning carries, as the problem types of the API are one list (http/problem.ts). The row
// rules (catalog/product.ts), the row sources and presets, and the commit path take their codes from here, so a code no
// entry names does not compile; the API's enum and its descriptions derive from this table, and a test holds the
// README's table to it. Clients and merchants' spreadsheets match on these codes: a code keeps its meaning, and a new
// problem gets a new entry.
import { z } from "zod";

/**
 * How a code's rows fare. `error`: the row is always rejected. `error_or_warning`: a problem of a field that a row can
 * do without: it rejects the row, or with on_invalid=skip_field it is a warning and the row is imported without that
 * field (an error still, when the row has an error of a field it cannot do without). `warning`: never an error: a row
 * skipped (counted in skipped_rows, not rejected) for a reason the merchant can fix, told so on its line, or a revert's
 * product left as it is.
 */
export type RowErrorSeverity = "error" | "error_or_warning" | "warning";

interface RowErrorCodeDefinition {
  /** What the problem is and how the merchant fixes the row: one line, for the API's document and the README. */
  about: string;
  severity: RowErrorSeverity;
}

const ROW_ERROR_CODES = {
  // The record as a whole (column null unless it names the field).
  ragged_row: {
    about: "The CSV row has more or fewer values than the header has columns: look for a delimiter inside a cell that is not quoted, or a missing value.",
    severity: "error",
  },
  invalid_json: { about: "The NDJSON line is not valid JSON: fix its quotes, commas or brackets.", severity: "error" },
  not_an_object: { about: 'The NDJSON line is JSON but not an object: each line must be one object such as `{"sku": "A-1"}`.', severity: "error" },
  too_many_values: {
    about: "The NDJSON line holds far more values (names, values and list items, nested ones included) than a product needs; the message gives the limit.",
    severity: "error",
  },
  duplicate_field: { about: "The NDJSON object gives a field twice (under the same key, or in another case): give it once.", severity: "error" },
  invalid_row: { about: "The row is not an object of column values.", severity: "error" },
  variant_without_sku: {
    about: "The Shopify row gives a variant (a price, stock, barcode or option value) but no SKU, which Shopify allows and a product here needs: the row is skipped; give the variant a SKU.",
    severity: "warning",
  },
  unsupported_product_type: {
    about: "The WooCommerce row's Type is not imported: simple, variation and external products are, and variable and grouped parents are skipped.",
    severity: "error",
  },
  // A field's value (the column names the field).
  required: { about: "A value that cannot be blank is blank: the SKU, a name or price the row gives, or a Shopify row's Handle.", severity: "error" },
  invalid_type: {
    about: "The value has the wrong type for its field (a JSON number as a barcode, a list where text is expected, options that are not an object): send the field's type.",
    severity: "error_or_warning",
  },
  too_long: { about: "The cell is longer than its field takes; the message gives the limit.", severity: "error_or_warning" },
  invalid_sku: {
    about: "The SKU has whitespace or a character other than unaccented letters, digits and ASCII punctuation.",
    severity: "error",
  },
  invalid_price: { about: "The price is not a plain decimal such as 19.99.", severity: "error" },
  thousands_separator: { about: "The price has a thousands separator (1,299.00): write 1299.00.", severity: "error" },
  decimal_comma: { about: "The price uses a comma for decimals (19,99): use a dot, 19.99.", severity: "error" },
  currency_symbol: {
    about: "The price has a currency symbol or code ($19.99, 19.99 EUR): write only the number, and the currency in the currency column.",
    severity: "error",
  },
  scientific_notation: {
    about: "The price or barcode is in scientific notation (3.65275E+11), as spreadsheets show long numbers: format the column as text and export again.",
    severity: "error_or_warning",
  },
  negative: { about: "The price or stock is negative.", severity: "error_or_warning" },
  too_many_decimals: { about: "The price has more decimals than its currency has (19.999 USD, 5.5 JPY).", severity: "error" },
  too_large: { about: "The price or stock is larger than can be stored; the message gives the limit.", severity: "error_or_warning" },
  invalid_currency: { about: "The currency is not an active ISO 4217 code: use a three-letter code such as USD, EUR or JPY.", severity: "error" },
  currency_without_price: {
    about: "A currency is given without a price: give the price in that currency too, as a price and its currency change together.",
    severity: "error",
  },
  invalid_integer: { about: "The stock is not a whole number such as 12.", severity: "error_or_warning" },
  invalid_status: { about: "The status is not active, draft or archived.", severity: "error_or_warning" },
  invalid_url: { about: "The image URL is not a full http:// or https:// address without spaces.", severity: "error_or_warning" },
  invalid_barcode: {
    about: "The barcode is not a GTIN-8, -12, -13 or -14: digits only, with a valid check digit.",
    severity: "error_or_warning",
  },
  invalid_tag: { about: "A tag of an NDJSON list has a comma, which tags cannot have.", severity: "error_or_warning" },
  too_many_tags: { about: "The row has more different tags than a product takes; the message gives the limit.", severity: "error_or_warning" },
  tag_too_long: { about: "A tag is longer than a tag may be; the message gives the limit.", severity: "error_or_warning" },
  invalid_options: {
    about: "The options are not a JSON object of option names and values, or an option is given twice, has a blank or too long name or value, or is named `__proto__`.",
    severity: "error_or_warning",
  },
  too_many_options: { about: "The row has more options than a product takes; the message gives the limit.", severity: "error_or_warning" },
  // What the catalog holds.
  new_product_incomplete: {
    about: "The SKU is not in the catalog, and the row has no name or no price, which a new product needs: add them, or import the product first.",
    severity: "error",
  },
  // A revert (POST …/revert): `line` is the product's ordinal in the revert, the column `sku`, the value its SKU.
  changed_since_import: {
    about: "A revert left the product as it is now: it changed after the import being reverted (a later import or another write), and reverting never overwrites newer data.",
    severity: "warning",
  },
} as const satisfies Record<string, RowErrorCodeDefinition>;

export type RowErrorCode = keyof typeof ROW_ERROR_CODES;
export const rowErrorCodes = Object.keys(ROW_ERROR_CODES) as [RowErrorCode, ...RowErrorCode[]];

/** What a code means and how the merchant fixes the row. */
export function rowErrorAbout(code: RowErrorCode): string {
  return ROW_ERROR_CODES[code].about;
}

/** Whether a code always rejects its row, may be a warning with on_invalid=skip_field, or is always a warning. */
export function rowErrorSeverity(code: RowErrorCode): RowErrorSeverity {
  return ROW_ERROR_CODES[code].severity;
}

/** A code as the API's document describes it: what it means, and whether it may be a warning. */
function describedCode(code: RowErrorCode): string {
  const severity = rowErrorSeverity(code);
  if (severity === "error") return rowErrorAbout(code);
  if (severity === "warning") return `${rowErrorAbout(code)} Always a warning.`;
  return `${rowErrorAbout(code)} A warning when on_invalid=skip_field leaves the field out.`;
}

/**
 * The code of a row error as the API returns it: an enum, each value described in `x-enumDescriptions` (an extension
 * the docs page renders; OpenAPI has no description per enum value).
 */
export const rowErrorCodeSchema = z.enum(rowErrorCodes).meta({
  id: "RowErrorCode",
  description: "What is wrong with the row, as a stable code (`message` says it for this row); `x-enumDescriptions` describes each.",
  "x-enumDescriptions": Object.fromEntries(rowErrorCodes.map((code) => [code, describedCode(code)])),
});
