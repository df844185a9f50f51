/**
 * The rule of each product field: a parser that validates and normalises one cell of a row, a CSV cell (every value a
 * string, blank = "") or an NDJSON value (strings, numbers, booleans, arrays, objects or null). The field table
 * (fields.ts) names each field's rule; product.ts runs them over a row. Each parser reports problems with a stable
 * snake_case code and a message a merchant can act on, and returns FAILED for a value it rejected.
 */
import { z } from "zod";
import { checkGtin } from "./gtin.ts";
import { isCurrencyCode, parseDecimal, type DecimalParts, type MoneyError } from "./money.ts";
import { productStatuses, type ProductStatus } from "../model/product-status.ts";
import type { RowErrorCode } from "../model/row-error-codes.ts";
import { nameCount, repeatedNames } from "../json-text.ts";
import { quote } from "../text.ts";

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

/** A variant's options: option name → value, in the order given. */
export type ProductOptions = Record<string, string>;

// ---------------------------------------------------------------------------
// Issue helpers

/** A field's problem, before it is tied to its column. */
export interface FieldProblem {
  code: RowErrorCode;
  message: string;
}

/** Where a field parser reports its problems, and what it reads a cell with. */
export interface Ctx {
  problems: FieldProblem[];
  /** The import's currency (ISO 4217): what a blank currency cell means. */
  readonly currency: string;
}

/** A field's rule: its cell's value (a given cell, see product.ts) → the field's normalised value, or FAILED. */
export type Rule<T> = (value: unknown, ctx: Ctx) => T;

/** What a parser returns for a field it rejected; never seen outside validateProductRow. */
const FAILED = undefined as never;

function addIssue(ctx: Ctx, code: RowErrorCode, message: string): void {
  ctx.problems.push({ code, message });
}

/** Records a row error and returns the placeholder value of a failed field. */
export function reject(ctx: Ctx, code: RowErrorCode, message: string): never {
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
export function charLength(s: string): number {
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

export function parseSku(value: unknown, ctx: Ctx): string {
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
export function priceCode(error: MoneyError): RowErrorCode {
  return error.code === "invalid_decimal" ? "invalid_price" : error.code;
}

export function parsePrice(value: unknown, ctx: Ctx): DecimalParts {
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

/** A currency code; blank is the import's currency. */
export function parseCurrency(value: unknown, ctx: Ctx): string {
  const text = textOf(value, ctx, "Currency");
  if (text === undefined) return FAILED;
  const s = text.trim();
  if (s === "") return ctx.currency;
  const code = s.toUpperCase();
  if (isCurrencyCode(code)) return code;
  return reject(
    ctx,
    "invalid_currency",
    `Currency ${quote(s)} is not an ISO 4217 currency code; use a three-letter code such as USD, EUR or JPY.`,
  );
}

const DIGITS = /^\d+$/;
const NEGATIVE_INTEGER = /^-\d+$/;

export function parseStock(value: unknown, ctx: Ctx): number {
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

export function parseStatus(value: unknown, ctx: Ctx): ProductStatus {
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

export function parseImageUrl(value: unknown, ctx: Ctx): string | null {
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

export function parseBarcode(value: unknown, ctx: Ctx): string | null {
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

export function parseTags(value: unknown, ctx: Ctx): string[] {
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

/** What is said of an option named twice (in a cell's JSON, an NDJSON object, a preset's option columns). */
export function optionGivenTwiceMessage(name: string): string {
  return `Option ${quote(name)} is given twice.`;
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
export function parseOptions(value: unknown, ctx: Ctx): ProductOptions {
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
  if (repeated) return reject(ctx, "invalid_options", optionGivenTwiceMessage(repeated.name));
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
    if (seen.has(key)) return reject(ctx, "invalid_options", optionGivenTwiceMessage(name));
    seen.add(key);
    options[name] = text;
  }
  return options;
}


export const parseName = requiredText("Name");
export const parseDescription = optionalText("Description");
export const parseBrand = optionalText("Brand");
export const parseCategory = optionalText("Category");
export const parseGroup = optionalText("Group");

/**
 * A SKU as the API takes it (a path parameter): the rows' SKU rule, without the trimming a file cell gets. Only ASCII,
 * so case-insensitive lookups cannot match through Unicode case folding (the Kelvin sign lower-cases to "k").
 */
export const skuSchema = z
  .string()
  .min(1, { error: `must be ${SKU_RULE}`, abort: true })
  .max(productLimits.skuLength, { error: `must be ${SKU_RULE}`, abort: true })
  .regex(SKU, { error: `must be ${SKU_RULE}` });
