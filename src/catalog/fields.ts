// The product fields: one entry per field, the one place a field is listed. Everything that names the fields derives
// from this table: the names a CSV header, an NDJSON key and a column mapping are matched against, each cell's most
// length, the row rules (product.ts), the fields on_invalid=skip_field may leave out, the stored columns and the order
// a row travels to D1 in (rows.ts), the keep mask, the counted upsert and the dry run's comparison (commit/), a new
// product's empty values, and the API's product (its zod schema and JSON).
//
// The order of the entries is the fields' order: a row's errors are reported in it, the field lists of messages and
// of the API's document follow it, and an entry's position is its bit in the keep mask (bit i: the row leaves the
// i-th field alone), so the SKU, which every row gives, is first.
//
// Adding a field is an entry here (its rule in field-rules.ts), its column in src/db/schema.ts (a test holds the two
// to each other), the migration generated from it, and `npm run row-fields` (the row check's walk, generated).
import { z } from "zod";
import { formatMinor } from "./money.ts";
import {
  parseBarcode,
  parseBrand,
  parseCategory,
  parseCurrency,
  parseDescription,
  parseGroup,
  parseImageUrl,
  parseName,
  parseOptions,
  parsePrice,
  parseSku,
  parseStatus,
  parseStock,
  parseTags,
  productLimits,
  type ProductOptions,
  type Rule,
  skuSchema,
} from "./field-rules.ts";
import { productStatuses } from "../model/product-status.ts";

/** A new product's currency when its row has none: the import's (`currency=`), not a constant. */
export const IMPORT_CURRENCY: unique symbol = Symbol("the import's currency");

/** How a column stores its field: text, an integer, or JSON text (a list, an object; sent to D1 nested). */
type StoredType = "text" | "integer" | "json";

type EmptyValue = string | number | null | readonly string[] | Readonly<ProductOptions> | typeof IMPORT_CURRENCY;

interface FieldSpec<K extends string, C extends string, V, R extends z.ZodType> {
  /** The field's property of a validated row (ProductInput). */
  key: K;
  /** Its column in the products table. */
  column: C;
  type: StoredType;
  /** How a message names the field. */
  label: string;
  /**
   * The most characters its cell may have once trimmed (code points), checked before its rule reads the cell, so no
   * rule ever reads more than this.
   */
  maxLength: number;
  /** Reads a cell the row gives (see product.ts). */
  rule: Rule<V>;
  /**
   * What a new product gets when its row does not give the field, which is also what a blank cell clears the field
   * to. A name and a price have none: a new product must give them (catalog-lookup.ts), so theirs is a placeholder
   * that is never stored.
   */
  empty: EmptyValue;
  /** Whether on_invalid=skip_field may leave out an invalid value (the row is imported without the field). */
  skippable: boolean;
  /** The field in the API's product, whose property is the field's name. */
  response: R;
  /** The API's value from the stored one, when it is not the stored value as it is (JSON text is parsed). */
  shown?: (value: unknown, stored: (column: string) => unknown) => unknown;
}

function field<const K extends string, const C extends string, V, R extends z.ZodType>(spec: FieldSpec<K, C, V, R>): FieldSpec<K, C, V, R> {
  return spec;
}

/** The most characters a price, currency, stock, status or barcode cell takes: room for the mistakes the rules explain. */
const SHORT_CELL_LENGTH = 64;
/** A character of JSON text written as `\uXXXX`. */
const JSON_ESCAPE_LENGTH = 6;

const nullableText = (max: number) => z.string().max(max).nullable();

/**
 * The fields by their name: the name a file's column (or NDJSON key) has, and the API's product property. Placeholders
 * (`empty` of a field a new product must give) are marked "never stored".
 */
export const productFields = {
  sku: field({
    key: "sku", column: "sku", type: "text", label: "SKU", maxLength: productLimits.skuLength, rule: parseSku,
    empty: "", // every row gives one
    skippable: false,
    response: skuSchema.meta({ description: "Stock keeping unit, unique per shop (case-insensitive).", examples: ["TSHIRT-RED-M"] }),
  }),
  name: field({
    key: "name", column: "name", type: "text", label: "Name", maxLength: productLimits.nameLength, rule: parseName,
    empty: "", // never stored
    skippable: false,
    response: z.string().min(1).max(productLimits.nameLength),
  }),
  description: field({
    key: "description", column: "description", type: "text", label: "Description", maxLength: productLimits.descriptionLength,
    rule: parseDescription, empty: null, skippable: true,
    response: nullableText(productLimits.descriptionLength),
  }),
  price: field({
    // In minor units of the product's currency (see product.ts); a price read without a currency waits for it.
    key: "priceMinor", column: "price_minor", type: "integer", label: "Price", maxLength: SHORT_CELL_LENGTH, rule: parsePrice,
    empty: 0, // never stored
    skippable: false,
    response: z
      .string()
      .regex(/^\d+(?:\.\d+)?$/)
      .meta({ description: "Price in major units as a decimal string with the currency's minor-unit digits.", examples: ["19.99"] }),
    shown: (minor, stored) => formatMinor(minor as number, stored("currency") as string),
  }),
  currency: field({
    key: "currency", column: "currency", type: "text", label: "Currency", maxLength: SHORT_CELL_LENGTH, rule: parseCurrency,
    empty: IMPORT_CURRENCY, skippable: false,
    response: z.string().regex(/^[A-Z]{3}$/).meta({ description: "ISO 4217 currency code.", examples: ["USD"] }),
  }),
  stock: field({
    key: "stock", column: "stock", type: "integer", label: "Stock", maxLength: SHORT_CELL_LENGTH, rule: parseStock,
    empty: 0, skippable: true,
    response: z.int().min(0).max(productLimits.maxStock),
  }),
  status: field({
    key: "status", column: "status", type: "text", label: "Status", maxLength: SHORT_CELL_LENGTH, rule: parseStatus,
    empty: "active", skippable: true,
    response: z.enum(productStatuses),
  }),
  brand: field({
    key: "brand", column: "brand", type: "text", label: "Brand", maxLength: productLimits.brandLength, rule: parseBrand,
    empty: null, skippable: true,
    response: nullableText(productLimits.brandLength),
  }),
  category: field({
    key: "category", column: "category", type: "text", label: "Category", maxLength: productLimits.categoryLength, rule: parseCategory,
    empty: null, skippable: true,
    response: nullableText(productLimits.categoryLength),
  }),
  image_url: field({
    key: "imageUrl", column: "image_url", type: "text", label: "Image URL", maxLength: productLimits.imageUrlLength, rule: parseImageUrl,
    empty: null, skippable: true,
    response: z.url().max(productLimits.imageUrlLength).nullable(),
  }),
  barcode: field({
    key: "barcode", column: "barcode", type: "text", label: "Barcode", maxLength: SHORT_CELL_LENGTH, rule: parseBarcode,
    empty: null, skippable: true,
    response: z.string().regex(/^(?:\d{8}|\d{12,14})$/).nullable().meta({ description: "GTIN-8, -12, -13 or -14." }),
  }),
  tags: field({
    // A CSV tags cell is the whole list.
    key: "tags", column: "tags", type: "json", label: "The tag list", maxLength: productLimits.maxTags * (productLimits.tagLength + ", ".length),
    rule: parseTags, empty: Object.freeze([]), skippable: true,
    response: z.array(z.string().min(1).max(productLimits.tagLength)).max(productLimits.maxTags),
  }),
  group: field({
    key: "group", column: "variant_group", type: "text", label: "Group", maxLength: productLimits.groupLength, rule: parseGroup,
    empty: null, skippable: true,
    response: nullableText(productLimits.groupLength).meta({
      description: "The product this variant belongs to: a Shopify handle, a WooCommerce parent SKU, or a `group` column.",
      examples: ["example-t-shirt"],
    }),
  }),
  options: field({
    // An options cell is JSON text: room for the most options with every character escaped.
    key: "options", column: "options", type: "json", label: "The options text",
    maxLength: JSON_ESCAPE_LENGTH * productLimits.maxOptions * (productLimits.optionNameLength + productLimits.optionValueLength + 8),
    rule: parseOptions, empty: Object.freeze({}), skippable: true,
    response: z
      .record(z.string().max(productLimits.optionNameLength), z.string().max(productLimits.optionValueLength))
      .meta({ description: `The variant's options, option name → value; at most ${productLimits.maxOptions}.`, examples: [{ Color: "Green", Size: "M" }] }),
  }),
};

type Fields = typeof productFields;

/** A field's name: the name a file's column (an NDJSON key, a mapping's target) has, and the API's product property. */
export type ProductColumn = keyof Fields;

/** The field names in the table's order. */
export const productColumns = Object.keys(productFields) as ProductColumn[];

/** A field's property of a validated row (ProductInput). */
export type FieldKey = Fields[ProductColumn]["key"];

/** A field's column in the products table. */
export type StoredColumn = Fields[ProductColumn]["column"];

/** An entry with its name, as code that walks the table reads it. */
export interface Field extends FieldSpec<FieldKey, StoredColumn, unknown, z.ZodType> {
  name: ProductColumn;
}

/**
 * The entries in the table's order: a field's position is its keep-mask bit and its place in a stored row. Each is
 * built with the same properties in the same order, so code walking the list reads them all through one shape.
 */
export const fieldList: readonly Field[] = productColumns.map((name): Field => {
  const spec: FieldSpec<FieldKey, StoredColumn, unknown, z.ZodType> = productFields[name];
  return {
    name,
    key: spec.key,
    column: spec.column,
    type: spec.type,
    label: spec.label,
    maxLength: spec.maxLength,
    rule: spec.rule,
    empty: spec.empty,
    skippable: spec.skippable,
    response: spec.response,
    shown: spec.shown,
  };
});

// A keep mask is a 32-bit integer in JavaScript's bit operations, whose bit 31 is the sign.
if (fieldList.length > 31) throw new Error("A keep mask holds at most 31 fields.");

/** A field's position in the table: its keep-mask bit and its place in a stored row. */
export function fieldIndex(name: ProductColumn): number {
  return productColumns.indexOf(name);
}
