/**
 * The product row: one parser per input column that validates and normalises a
 * product coming from a CSV row (every value a string, blank = "") or an NDJSON
 * row (strings, numbers, booleans, arrays, objects or null), plus the API
 * response shape (a zod schema, as every request and response of the API).
 *
 * A row gives only the fields its file has: a column absent from the header (a
 * key absent from the object) is a field the row leaves alone, and so is a
 * blank cell with `blank_cells=keep`. Otherwise a blank cell clears the field
 * to its empty value (name and price cannot be cleared).
 *
 * Rows are not run through zod: an import validates millions of them, and a zod
 * object of twelve transforms costs far more per row than calling the same
 * twelve parsers (Workers run zod without its JIT). Each parser reports
 * problems with a stable snake_case code.
 */
import { z } from "zod";
import { checkGtin } from "./gtin.ts";
import { decimalToMinor, isCurrencyCode, parseDecimal, type DecimalParts, type MoneyError } from "./money.ts";
import { productStatuses, type ProductStatus } from "../model/product-status.ts";
import type { RowErrorCode } from "../model/row-error-codes.ts";
import { nameCount, repeatedNames } from "../json-text.ts";
import { cutText, quote } from "../text.ts";

export { productStatuses };

/** Input column names understood by the row schema. */
export const productColumns = [
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
] as const;
export type ProductColumn = (typeof productColumns)[number];

/** What an invalid field does to its row: rejects it, or (optional fields only) is left out with a warning. */
export const onInvalidModes = ["reject_row", "skip_field"] as const;
export type OnInvalid = (typeof onInvalidModes)[number];

/**
 * The fields a row can do without: with on_invalid=skip_field an invalid one is left out of the row. The SKU, name
 * and price (and the currency the price is read in) are what a product is; an invalid one always rejects the row.
 */
const FIELD_OF_SKIPPABLE = {
  description: "description",
  stock: "stock",
  status: "status",
  brand: "brand",
  category: "category",
  image_url: "imageUrl",
  barcode: "barcode",
  tags: "tags",
  group: "group",
  options: "options",
} as const satisfies Partial<Record<ProductColumn, string>>;
type SkippableColumn = keyof typeof FIELD_OF_SKIPPABLE;
const SKIPPABLE: ReadonlySet<string> = new Set(Object.keys(FIELD_OF_SKIPPABLE));

/** What a blank cell means: clear the field to its empty value, or leave the field alone. */
export const blankCellsModes = ["clear", "keep"] as const;
export type BlankCells = (typeof blankCellsModes)[number];

/**
 * A validated, normalised product row: the SKU and the fields the row gives. A field the row does not give is
 * undefined (left alone for an existing product; a new product gets its empty value, see newProductDefaults).
 */
export interface ProductInput {
  sku: string;
  /** Lower-cased SKU; SKUs are unique case-insensitively. */
  skuKey: string;
  name: string | undefined;
  description: string | null | undefined;
  priceMinor: number | undefined;
  /** A price given without a currency: in minor units once the product's currency is known (see catalog-lookup.ts). */
  pendingPrice: DecimalParts | undefined;
  currency: string | undefined;
  stock: number | undefined;
  status: ProductStatus | undefined;
  brand: string | null | undefined;
  category: string | null | undefined;
  barcode: string | null | undefined;
  imageUrl: string | null | undefined;
  tags: string[] | undefined;
  group: string | null | undefined;
  options: ProductOptions | undefined;
}

/** A variant's options: option name → value, in the order given. */
export type ProductOptions = Record<string, string>;

/** The fields a new product gets when its row does not give them (the currency is the import's). */
export const newProductDefaults = {
  description: null,
  stock: 0,
  status: "active",
  brand: null,
  category: null,
  barcode: null,
  imageUrl: null,
  tags: [] as string[],
  group: null,
  options: {} as ProductOptions,
} as const;

export interface RowFieldError {
  /** Input field name, e.g. "price"; null when the row as a whole is unusable (as for every row error, see RowError). */
  column: string | null;
  code: RowErrorCode;
  message: string;
  /** The offending raw value as text, cut to 200 characters. */
  value: string;
}

export type RowValidationResult =
  | { ok: true; product: ProductInput; /** Fields left out with on_invalid=skip_field, and why. */ warnings: RowFieldError[] | undefined }
  | { ok: false; errors: RowFieldError[] };

export const productLimits = {
  skuLength: 64,
  nameLength: 255,
  descriptionLength: 10_000,
  brandLength: 255,
  categoryLength: 255,
  imageUrlLength: 2048,
  maxStock: 2_147_483_647,
  maxTags: 50,
  tagLength: 64,
  groupLength: 255,
  maxOptions: 10,
  optionNameLength: 64,
  optionValueLength: 255,
  errorValueLength: 200,
} as const;

/** The most characters a price, currency, stock, status or barcode cell takes: room for the mistakes the rules explain. */
const SHORT_CELL_LENGTH = 64;
/** A character of JSON text written as `\uXXXX`. */
const JSON_ESCAPE_LENGTH = 6;

/**
 * Per input column: how a message names the field, and the most characters its cell may have once trimmed (code
 * points). A CSV tags cell is the whole list; an options cell is JSON text, room for the most options with every
 * character escaped. The length is checked before anything else is done with a cell (see RowCheck.field), so no rule
 * ever reads more than this.
 */
export const productCells = {
  sku: { label: "SKU", maxLength: productLimits.skuLength },
  name: { label: "Name", maxLength: productLimits.nameLength },
  description: { label: "Description", maxLength: productLimits.descriptionLength },
  price: { label: "Price", maxLength: SHORT_CELL_LENGTH },
  currency: { label: "Currency", maxLength: SHORT_CELL_LENGTH },
  stock: { label: "Stock", maxLength: SHORT_CELL_LENGTH },
  status: { label: "Status", maxLength: SHORT_CELL_LENGTH },
  brand: { label: "Brand", maxLength: productLimits.brandLength },
  category: { label: "Category", maxLength: productLimits.categoryLength },
  image_url: { label: "Image URL", maxLength: productLimits.imageUrlLength },
  barcode: { label: "Barcode", maxLength: SHORT_CELL_LENGTH },
  tags: { label: "The tag list", maxLength: productLimits.maxTags * (productLimits.tagLength + ", ".length) },
  group: { label: "Group", maxLength: productLimits.groupLength },
  options: { label: "The options text", maxLength: JSON_ESCAPE_LENGTH * productLimits.maxOptions * (productLimits.optionNameLength + productLimits.optionValueLength + 8) },
} as const satisfies Record<ProductColumn, { label: string; maxLength: number }>;

const SHORTEST_CELL_LIMIT = Math.min(...Object.values(productCells).map((cell) => cell.maxLength));

function tooLongMessage(column: ProductColumn, length: number): string {
  const { label, maxLength } = productCells[column];
  return `${label} is too long: ${length} characters, the limit is ${maxLength}.`;
}

// ---------------------------------------------------------------------------
// Issue helpers

/** A field's problem, before it is tied to its column. */
interface FieldProblem {
  code: RowErrorCode;
  message: string;
}

/** Where a field parser reports its problems. */
interface Ctx {
  problems: FieldProblem[];
}

/** What a parser returns for a field it rejected; never seen outside validateProductRow. */
const FAILED = undefined as never;

function addIssue(ctx: Ctx, code: RowErrorCode, message: string): void {
  ctx.problems.push({ code, message });
}

/** Records a row error and returns the placeholder value of a failed field. */
function reject(ctx: Ctx, code: RowErrorCode, message: string): never {
  addIssue(ctx, code, message);
  return FAILED;
}

function describeType(value: unknown): string {
  if (typeof value === "boolean") return "true/false";
  if (typeof value === "number") return "a number";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Length in Unicode code points; limits are about characters a merchant sees, not UTF-16 units. */
function charLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) n--;
  }
  return n;
}

function isTooLong(s: string, max: number): boolean {
  // Code points never outnumber UTF-16 units, so short strings skip the count.
  return s.length > max && charLength(s) > max;
}

/** A text cell's length in characters once trimmed when that is over `max`, else null (one comparison for most cells). */
function lengthOver(value: unknown, max: number): number | null {
  if (typeof value !== "string" || value.length <= max) return null;
  const length = charLength(value.trim());
  return length > max ? length : null;
}

/** Whether the rules refuse this cell of `column` for its length, before anything else (see productCells). */
export function isCellTooLong(column: ProductColumn, value: unknown): boolean {
  return lengthOver(value, productCells[column].maxLength) !== null;
}

/** Reads a text cell: strings as they are, null/absent as "", anything else is a type error (undefined). */
function textOf(value: unknown, ctx: Ctx, label: string): string | undefined {
  if (typeof value === "string") return value;
  if (value === null || value === undefined) return "";
  addIssue(ctx, "invalid_type", `${label} must be text, not ${describeType(value)}.`);
  return undefined;
}

// ---------------------------------------------------------------------------
// Field parsers (module-level so no closures are created per row). Each pattern here is anchored with one character
// class per run and no two quantifiers that could take the same characters: one way to match, linear in the text.

const SKU = /^[\x21-\x7E]+$/;
const SKU_RULE = `1 to ${productLimits.skuLength} printable ASCII characters without spaces (unaccented letters, digits and ASCII punctuation)`;
const WHITESPACE = /\s/;
const NON_PRINTABLE_ASCII = /[^\x21-\x7E]/u;

function parseSku(value: unknown, ctx: Ctx): string {
  const text = textOf(value, ctx, "SKU");
  if (text === undefined) return FAILED;
  const sku = text.trim();
  if (sku === "") return reject(ctx, "required", "SKU is required.");
  if (SKU.test(sku)) return sku;
  if (WHITESPACE.test(sku)) {
    return reject(ctx, "invalid_sku", `SKU ${quote(sku)} must not contain spaces or other whitespace.`);
  }
  const bad = NON_PRINTABLE_ASCII.exec(sku)?.[0] ?? "";
  return reject(
    ctx,
    "invalid_sku",
    `SKU ${quote(sku)} contains ${quote(bad)}; only unaccented letters, digits and ASCII punctuation are allowed.`,
  );
}

function requiredText(label: string) {
  return (value: unknown, ctx: Ctx): string => {
    const text = textOf(value, ctx, label);
    if (text === undefined) return FAILED;
    const s = text.trim();
    if (s === "") return reject(ctx, "required", `${label} is required.`);
    return s;
  };
}

function optionalText(label: string) {
  return (value: unknown, ctx: Ctx): string | null => {
    const text = textOf(value, ctx, label);
    if (text === undefined) return FAILED;
    const s = text.trim();
    return s === "" ? null : s;
  };
}

/** Money codes that keep their name on a row; the generic syntax error is specific to price here. */
function priceCode(error: MoneyError): RowErrorCode {
  return error.code === "invalid_decimal" ? "invalid_price" : error.code;
}

function parsePrice(value: unknown, ctx: Ctx): DecimalParts {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number") {
    if (!Number.isFinite(value)) return reject(ctx, "invalid_price", "Price must be a finite number.");
    // JS prints the shortest decimal that round-trips, so 19.99 stays "19.99"; exponent forms are rejected below.
    text = String(value);
  } else if (value === null || value === undefined) text = "";
  else return reject(ctx, "invalid_type", `Price must be a decimal such as "19.99", not ${describeType(value)}.`);

  const parts = parseDecimal(text, "Price");
  if (!parts.ok) return reject(ctx, priceCode(parts), parts.message);
  return parts;
}

function currencyParser(defaultCurrency: string) {
  return (value: unknown, ctx: Ctx): string => {
    const text = textOf(value, ctx, "Currency");
    if (text === undefined) return FAILED;
    const s = text.trim();
    if (s === "") return defaultCurrency;
    const code = s.toUpperCase();
    if (isCurrencyCode(code)) return code;
    return reject(
      ctx,
      "invalid_currency",
      `Currency ${quote(s)} is not an ISO 4217 currency code; use a three-letter code such as USD, EUR or JPY.`,
    );
  };
}

const DIGITS = /^\d+$/;
const NEGATIVE_INTEGER = /^-\d+$/;

function parseStock(value: unknown, ctx: Ctx): number {
  if (typeof value === "number") return stockFromNumber(value, ctx);
  if (value === null || value === undefined) return 0;
  if (typeof value !== "string") {
    return reject(ctx, "invalid_type", `Stock must be a whole number, not ${describeType(value)}.`);
  }
  const s = value.trim();
  if (s === "") return 0;
  if (DIGITS.test(s)) {
    // Ten digits cover the limit; longer strings would lose precision in Number().
    const n = s.length <= 10 ? Number(s) : Infinity;
    if (n > productLimits.maxStock) return stockTooLarge(ctx);
    return n;
  }
  if (NEGATIVE_INTEGER.test(s)) return reject(ctx, "negative", "Stock cannot be negative.");
  return reject(ctx, "invalid_integer", `Stock ${quote(s)} must be a whole number such as 12.`);
}

function stockFromNumber(n: number, ctx: Ctx): number {
  if (!Number.isInteger(n)) return reject(ctx, "invalid_integer", `Stock ${n} must be a whole number such as 12.`);
  if (n < 0) return reject(ctx, "negative", "Stock cannot be negative.");
  if (n > productLimits.maxStock) return stockTooLarge(ctx);
  return n === 0 ? 0 : n; // folds -0 into 0
}

function stockTooLarge(ctx: Ctx): never {
  return reject(ctx, "too_large", `Stock is too large; the limit is ${productLimits.maxStock}.`);
}

const STATUS_SET: ReadonlySet<string> = new Set(productStatuses);

function parseStatus(value: unknown, ctx: Ctx): ProductStatus {
  const text = textOf(value, ctx, "Status");
  if (text === undefined) return FAILED;
  const s = text.trim().toLowerCase();
  if (s === "") return "active";
  if (STATUS_SET.has(s)) return s as ProductStatus;
  return reject(ctx, "invalid_status", `Status ${quote(text.trim())} is not valid; use active, draft or archived.`);
}

// A host's first character, then anything but whitespace (`[^\s/?#]+[^\s]*` can split a host between its two runs in
// as many ways as it has characters: quadratic on a text that fails at its end).
const HTTP_URL = /^https?:\/\/[^\s/?#]\S*$/i;

function parseImageUrl(value: unknown, ctx: Ctx): string | null {
  const text = textOf(value, ctx, "Image URL");
  if (text === undefined) return FAILED;
  const s = text.trim();
  if (s === "") return null;
  if (HTTP_URL.test(s) && isParsableUrl(s)) return s;
  return reject(
    ctx,
    "invalid_url",
    `Image URL ${quote(s)} is not a valid web address; use a full http:// or https:// URL without spaces.`,
  );
}

// http(s) URLs cannot parse without a host, so this is enough, and it builds no URL object (hot path).
function isParsableUrl(s: string): boolean {
  return URL.canParse(s);
}

function parseBarcode(value: unknown, ctx: Ctx): string | null {
  if (typeof value === "number") {
    // A JSON number has already lost any leading zeros of the GTIN.
    return reject(ctx, "invalid_type", 'Barcode must be text such as "0036000291452" so that leading zeros are kept.');
  }
  const text = textOf(value, ctx, "Barcode");
  if (text === undefined) return FAILED;
  if (text.trim() === "") return null;
  const result = checkGtin(text);
  if (result.ok) return result.gtin;
  return reject(ctx, result.code === "scientific_notation" ? "scientific_notation" : "invalid_barcode", result.message);
}

function parseTags(value: unknown, ctx: Ctx): string[] {
  if (value === null || value === undefined) return [];
  if (typeof value === "string") return normaliseTags(value.split(","), ctx);
  if (!Array.isArray(value)) {
    return reject(ctx, "invalid_type", `Tags must be a comma-separated text or a list of texts, not ${describeType(value)}.`);
  }
  for (const tag of value) {
    if (typeof tag !== "string") {
      return reject(ctx, "invalid_type", `Each tag must be text, not ${describeType(tag)}.`);
    }
    if (tag.includes(",")) {
      return reject(ctx, "invalid_tag", `Tag ${quote(tag)} contains a comma; tags cannot contain commas.`);
    }
  }
  return normaliseTags(value, ctx);
}

/** Trims, drops empties, de-duplicates case-insensitively (first spelling wins) and applies the limits. */
function normaliseTags(raw: readonly string[], ctx: Ctx): string[] {
  const tags: string[] = [];
  const seen = new Set<string>();
  let tooLongTag: string | undefined;
  for (const piece of raw) {
    const tag = piece.trim();
    if (tag === "") continue;
    if (tooLongTag === undefined && isTooLong(tag, productLimits.tagLength)) tooLongTag = tag;
    const key = tag.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    tags.push(tag);
  }
  if (tooLongTag !== undefined) {
    addIssue(
      ctx,
      "tag_too_long",
      `Tag ${quote(tooLongTag)} is too long: ${charLength(tooLongTag)} characters, the limit is ${productLimits.tagLength}.`,
    );
  }
  if (tags.length > productLimits.maxTags) {
    addIssue(ctx, "too_many_tags", `There are ${tags.length} different tags; the limit is ${productLimits.maxTags}.`);
  }
  return tags;
}

/** The problem of an option named twice (in a cell's JSON, an NDJSON object, a preset's option columns). */
export function optionGivenTwice(name: string): RowFieldError {
  return { column: "options", code: "invalid_options", message: `Option ${quote(name)} is given twice.`, value: cutText(name, productLimits.errorValueLength) };
}

/**
 * Option names an object cannot hold as they are: assigning "__proto__" sets the object's prototype instead of adding
 * the option, which would be dropped without a word.
 */
const UNSTORABLE_OPTION_NAMES: ReadonlySet<string> = new Set(["__proto__"]);

/**
 * Options: an object of option name → text (NDJSON), or its JSON text (a CSV cell); blank = none. Names are unique
 * whatever their case (an exact repeat in a cell's JSON text too, which JSON.parse would drop), and a number value is
 * taken as its text ({"Size": 42}).
 */
function parseOptions(value: unknown, ctx: Ctx): ProductOptions {
  if (value === null || value === undefined) return {};
  let object: unknown = value;
  const text = typeof value === "string" ? value.trim() : null;
  if (text === "") return {};
  if (text !== null) {
    try {
      object = JSON.parse(text);
    } catch {
      return reject(ctx, "invalid_options", 'Options must be a JSON object of option names and values, such as {"Color": "Green", "Size": "M"}.');
    }
  }
  if (typeof object !== "object" || object === null || Array.isArray(object)) {
    return reject(ctx, "invalid_type", `Options must be an object of option names and values, not ${describeType(object)}.`);
  }
  const entries = Object.entries(object);
  // JSON.parse keeps the last of two equal names: fewer names in the object than in the text means it dropped one.
  const [repeated] = text !== null && nameCount(text, 1) !== entries.length ? repeatedNames(text, 1) : [];
  if (repeated) return reject(ctx, "invalid_options", optionGivenTwice(repeated.name).message);
  if (entries.length > productLimits.maxOptions) {
    return reject(ctx, "too_many_options", `There are ${entries.length} options; the limit is ${productLimits.maxOptions}.`);
  }
  const options: ProductOptions = {};
  const seen = new Set<string>();
  for (const [rawName, rawValue] of entries) {
    const name = rawName.trim();
    const optionValue = typeof rawValue === "number" && Number.isFinite(rawValue) ? String(rawValue) : rawValue;
    if (name === "" || isTooLong(name, productLimits.optionNameLength)) {
      return reject(ctx, "invalid_options", `Option name ${quote(rawName)} must be 1 to ${productLimits.optionNameLength} characters.`);
    }
    if (typeof optionValue !== "string") {
      return reject(ctx, "invalid_type", `Option ${quote(name)} must have a text value, not ${describeType(optionValue)}.`);
    }
    const text = optionValue.trim();
    if (text === "" || isTooLong(text, productLimits.optionValueLength)) {
      return reject(ctx, "invalid_options", `Option ${quote(name)} must have a value of 1 to ${productLimits.optionValueLength} characters.`);
    }
    if (UNSTORABLE_OPTION_NAMES.has(name)) {
      return reject(ctx, "invalid_options", `Option name ${quote(name)} cannot be stored as an option's name; rename the option.`);
    }
    const key = name.toLowerCase();
    if (seen.has(key)) return reject(ctx, "invalid_options", optionGivenTwice(name).message);
    seen.add(key);
    options[name] = text;
  }
  return options;
}

const parseName = requiredText("Name");
const parseGroup = optionalText("Group");
const parseDescription = optionalText("Description");
const parseBrand = optionalText("Brand");
const parseCategory = optionalText("Category");

// ---------------------------------------------------------------------------
// Row schema: one parser per input column

const currencyParsers = new Map<string, (value: unknown, ctx: Ctx) => string>();

/** The currency parser of rows whose blank currency means `defaultCurrency`; throws a RangeError if it is not ISO 4217. */
function currencyParserFor(defaultCurrency: string): (value: unknown, ctx: Ctx) => string {
  const cached = currencyParsers.get(defaultCurrency);
  if (cached !== undefined) return cached;
  const code = defaultCurrency.trim().toUpperCase();
  if (!isCurrencyCode(code)) throw new RangeError(`Default currency ${quote(defaultCurrency)} is not an ISO 4217 code.`);
  const parser = currencyParsers.get(code) ?? currencyParser(code);
  currencyParsers.set(code, parser);
  currencyParsers.set(defaultCurrency, parser);
  return parser;
}

const INVALID_ROW: RowValidationResult = {
  ok: false,
  errors: [{ column: null, code: "invalid_row", message: "The row must be an object of column values.", value: "" }],
};

/**
 * Runs a row's field parsers and ties each reported problem to its column and raw value. A text cell longer than its
 * column takes (productCells) is refused before its parser sees it, so every rule works on a bounded text.
 */
class RowCheck implements Ctx {
  readonly problems: FieldProblem[] = [];
  errors: RowFieldError[] | undefined;

  field<T>(column: ProductColumn, parse: (value: unknown, ctx: Ctx) => T, value: unknown): T {
    // Most cells are shorter than any column's limit: one comparison, no lookup of their column's.
    const length = typeof value === "string" && value.length > SHORTEST_CELL_LIMIT ? lengthOver(value, productCells[column].maxLength) : null;
    const parsed = length === null ? parse(value, this) : reject(this, "too_long", tooLongMessage(column, length));
    if (this.problems.length > 0) {
      this.errors ??= [];
      for (const problem of this.problems) this.errors.push({ column, ...problem, value: displayValue(value) });
      this.problems.length = 0;
    }
    return parsed;
  }
}

/** Whether the row gives this field: its column (key) is there, and with blank_cells=keep (`keep`) it is not blank. */
function isGiven(value: unknown, keep: boolean): boolean {
  return value !== undefined && !(keep && isBlank(value));
}

/** A cell that says nothing: absent, null or only whitespace (a blank cell, the empty spreadsheet row's cells). */
export function isBlank(value: unknown): boolean {
  return value === null || value === undefined || (typeof value === "string" && value.trim() === "");
}

/**
 * Validates and normalises one CSV or NDJSON row, reporting every field error of the row in column order. Only
 * the fields the row gives are read (see ProductInput); a rejected field's parser returns FAILED (undefined).
 * A price is converted to minor units with the row's currency; without one it waits for the product's (pendingPrice).
 * Throws a RangeError if `defaultCurrency` is not an ISO 4217 code, which is a programming error.
 */
export function validateProductRow(
  raw: Record<string, unknown>,
  defaultCurrency: string,
  blankCells: BlankCells = "clear",
  onInvalid: OnInvalid = "reject_row",
): RowValidationResult {
  const parseCurrency = currencyParserFor(defaultCurrency);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return INVALID_ROW;
  const keep = blankCells === "keep";
  // Named property reads (raw.sku, not raw[column]) keep this hot path monomorphic.
  const row = new RowCheck();
  const sku = row.field("sku", parseSku, raw.sku);
  const name = isGiven(raw.name, keep) ? row.field("name", parseName, raw.name) : undefined;
  const description = isGiven(raw.description, keep) ? row.field("description", parseDescription, raw.description) : undefined;
  const price = isGiven(raw.price, keep) ? row.field("price", parsePrice, raw.price) : undefined;
  const currency = isGiven(raw.currency, keep) ? row.field("currency", parseCurrency, raw.currency) : undefined;
  const stock = isGiven(raw.stock, keep) ? row.field("stock", parseStock, raw.stock) : undefined;
  const status = isGiven(raw.status, keep) ? row.field("status", parseStatus, raw.status) : undefined;
  const brand = isGiven(raw.brand, keep) ? row.field("brand", parseBrand, raw.brand) : undefined;
  const category = isGiven(raw.category, keep) ? row.field("category", parseCategory, raw.category) : undefined;
  const imageUrl = isGiven(raw.image_url, keep) ? row.field("image_url", parseImageUrl, raw.image_url) : undefined;
  const barcode = isGiven(raw.barcode, keep) ? row.field("barcode", parseBarcode, raw.barcode) : undefined;
  const tags = isGiven(raw.tags, keep) ? row.field("tags", parseTags, raw.tags) : undefined;
  const group = isGiven(raw.group, keep) ? row.field("group", parseGroup, raw.group) : undefined;
  const options = isGiven(raw.options, keep) ? row.field("options", parseOptions, raw.options) : undefined;

  // A stored price is in minor units of its currency: a new currency without a price would silently change what the
  // stored price means (¥1999 is not $19.99), so the two only change together.
  if (currency !== undefined && price === undefined && !row.errors?.some((e) => e.column === "price")) {
    row.errors ??= [];
    row.errors.push({
      column: "currency",
      code: "currency_without_price",
      message: "A currency is given without a price; give the price in that currency too, as a price and its currency change together.",
      value: displayValue(raw.currency),
    });
  }
  // Precision depends on the currency, so it is checked once both are valid, and reported with the price.
  let priceMinor: number | undefined;
  if (price !== undefined && currency !== undefined) {
    const minor = priceInMinorUnits(price, currency);
    if (minor.ok) priceMinor = minor.minor;
    else {
      row.errors ??= [];
      row.errors.push({ column: "price", code: minor.code, message: minor.message, value: displayValue(raw.price) });
      row.errors.sort(byColumnOrder);
    }
  }
  let warnings: RowFieldError[] | undefined;
  if (row.errors !== undefined) {
    if (onInvalid === "reject_row" || !row.errors.every((e) => SKIPPABLE.has(e.column ?? ""))) return { ok: false, errors: row.errors };
    warnings = row.errors;
  }
  const pendingPrice = priceMinor === undefined ? price : undefined;
  const product: ProductInput = {
    sku,
    skuKey: sku.toLowerCase(),
    name,
    description,
    priceMinor,
    pendingPrice,
    currency,
    stock,
    status,
    brand,
    category,
    barcode,
    imageUrl,
    tags,
    group,
    options,
  };
  // A skipped field is one the row does not give: left alone, as if its column were absent.
  for (const warning of warnings ?? []) product[FIELD_OF_SKIPPABLE[warning.column as SkippableColumn]] = undefined;
  return { ok: true, product, warnings };
}

/** A valid price in the minor units of `currency`, or why it has too many decimals for it. */
export function priceInMinorUnits(price: DecimalParts, currency: string): { ok: true; minor: number } | { ok: false; code: RowErrorCode; message: string } {
  const minor = decimalToMinor(price, currency, "Price");
  return minor.ok ? minor : { ok: false, code: priceCode(minor), message: minor.message };
}

const COLUMN_ORDER: ReadonlyMap<string, number> = new Map(productColumns.map((column, i) => [column, i]));

/** Sorts problems by their column's place in productColumns (row-level ones, column null, first). */
export function byColumnOrder(a: { column: string | null }, b: { column: string | null }): number {
  return (COLUMN_ORDER.get(a.column ?? "") ?? -1) - (COLUMN_ORDER.get(b.column ?? "") ?? -1);
}

/** The raw cell as text for error reports, cut to a bounded length. */
function displayValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (value === null || value === undefined) text = "";
  else if (typeof value === "object") text = safeJson(value);
  else text = String(value);
  return cutText(text, productLimits.errorValueLength);
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------------------
// API response

/**
 * A SKU as the API takes it (a path parameter): the rows' SKU rule, without the trimming a file cell gets. Only ASCII,
 * so case-insensitive lookups cannot match through Unicode case folding (the Kelvin sign lower-cases to "k").
 */
export const skuSchema = z
  .string()
  .min(1, { error: `must be ${SKU_RULE}`, abort: true })
  .max(productLimits.skuLength, { error: `must be ${SKU_RULE}`, abort: true })
  .regex(SKU, { error: `must be ${SKU_RULE}` });

/** A product as the API returns it; registered as "Product" for OpenAPI documents. */
export const productResponseSchema = z
  .object({
    sku: skuSchema.meta({ description: "Stock keeping unit, unique per shop (case-insensitive).", examples: ["TSHIRT-RED-M"] }),
    name: z.string().min(1).max(productLimits.nameLength),
    description: z.string().max(productLimits.descriptionLength).nullable(),
    price: z
      .string()
      .regex(/^\d+(?:\.\d+)?$/)
      .meta({ description: "Price in major units as a decimal string with the currency's minor-unit digits.", examples: ["19.99"] }),
    currency: z.string().regex(/^[A-Z]{3}$/).meta({ description: "ISO 4217 currency code.", examples: ["USD"] }),
    stock: z.int().min(0).max(productLimits.maxStock),
    status: z.enum(productStatuses),
    brand: z.string().max(productLimits.brandLength).nullable(),
    category: z.string().max(productLimits.categoryLength).nullable(),
    barcode: z.string().regex(/^(?:\d{8}|\d{12,14})$/).nullable().meta({ description: "GTIN-8, -12, -13 or -14." }),
    image_url: z.url().max(productLimits.imageUrlLength).nullable(),
    tags: z.array(z.string().min(1).max(productLimits.tagLength)).max(productLimits.maxTags),
    group: z
      .string()
      .max(productLimits.groupLength)
      .nullable()
      .meta({ description: "The product this variant belongs to: a Shopify handle, a WooCommerce parent SKU, or a `group` column.", examples: ["example-t-shirt"] }),
    options: z
      .record(z.string().max(productLimits.optionNameLength), z.string().max(productLimits.optionValueLength))
      .meta({ description: `The variant's options, option name → value; at most ${productLimits.maxOptions}.`, examples: [{ Color: "Green", Size: "M" }] }),
    created_at: z.iso.datetime().meta({ description: "ISO 8601 timestamp (UTC)." }),
    updated_at: z.iso.datetime().meta({ description: "ISO 8601 timestamp (UTC)." }),
  })
  .meta({ id: "Product", title: "Product", description: "A product in the catalog." });

export type ProductResponse = z.infer<typeof productResponseSchema>;
