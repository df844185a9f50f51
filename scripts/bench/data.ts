// The benchmarks' products: row i of a file of n rows depends only on (n, i), so the CSV files, the raw SQLite
// baseline and the bench Worker's D1-only writes hold the very same rows. Products come from the cells through the
// product rules in src/ (validateProductRow, gtinCheckDigit), as the consumer makes them. No Node APIs: the bench
// Worker imports this too.
import { gtinCheckDigit } from "../../src/catalog/gtin.ts";
import { type ProductInput, validateProductRow } from "../../src/catalog/product.ts";

export const CSV_HEADER = "sku,name,description,price,currency,stock,status,brand,category,barcode,image_url,tags";
export const CURRENCY = "USD";

const BRANDS = ["Acme", "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Tailspin", "Wayfarer", "Lumen"];
const CATEGORIES = ["Apparel", "Footwear", "Home", "Kitchen", "Outdoor", "Toys", "Beauty", "Sports", "Garden", "Office"];
const KINDS = ["T-shirt", "Hoodie", "Sneaker", "Mug", "Lamp", "Backpack", "Towel", "Jacket", "Bottle", "Notebook", "Cap", "Blanket"];
const ADJECTIVES = ["Classic", "Everyday", "Premium", "Light", "Recycled", "Organic", "Compact", "Heritage"];
const COLORS = ["red", "navy", "black", "white", "olive", "sand", "grey", "teal"];
const SIZES = ["XS", "S", "M", "L", "XL"];
const MATERIALS = ["cotton", "wool", "linen", "steel", "bamboo", "canvas", "ceramic", "leather"];
const SEASONS = ["summer", "winter", "spring", "autumn", "all-season"];

/** A 32-bit hash of (i, salt) (murmur3 finaliser): deterministic and well spread. */
function mix(i: number, salt: number): number {
  let h = (Math.imul(i, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const pick = <T>(list: readonly T[], i: number, salt: number): T => list[mix(i, salt) % list.length]!;

/** "10K", "1M", or the number: in SKUs, so that every size imports products of its own. */
export function sizeLabel(rows: number): string {
  if (rows % 1_000_000 === 0) return `${rows / 1_000_000}M`;
  return rows % 1_000 === 0 ? `${rows / 1_000}K` : String(rows);
}

/** The CSV cells of row `i` (1-based) of the file of `rows` rows, by column. */
export function productCells(rows: number, i: number): Record<string, string> {
  const sku = `${sizeLabel(rows)}-${String(i).padStart(7, "0")}`;
  const kind = pick(KINDS, i, 1);
  const brand = pick(BRANDS, i, 2);
  const adjective = pick(ADJECTIVES, i, 6);
  const material = pick(MATERIALS, i, 5);
  const cents = 199 + (mix(i, 11) % 19_800);
  // 70 % carry an EAN-13; half have a description.
  const body = `4${String(mix(i, 8) % 100).padStart(2, "0")}${String(mix(i, 9) % 1_000_000_000).padStart(9, "0")}`;
  return {
    sku,
    name: `${brand} ${adjective} ${kind} ${pick(COLORS, i, 3)} ${pick(SIZES, i, 4)}`,
    description: mix(i, 14) % 2 === 0 ? `${adjective} ${material} ${kind.toLowerCase()}` : "",
    price: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`,
    currency: CURRENCY,
    stock: String(mix(i, 12) % 1000),
    status: "active",
    brand,
    category: pick(CATEGORIES, i, 13),
    barcode: mix(i, 7) % 10 < 7 ? `${body}${gtinCheckDigit(body)}` : "",
    image_url: `https://cdn.example.com/${sku.toLowerCase()}.jpg`,
    tags: `${pick(SEASONS, i, 10)},${material}`,
  };
}

/** One CSV line without its line break (row `i`'s cells unless given); only the tags cell holds a comma. */
export function csvLine(rows: number, i: number, c = productCells(rows, i)): string {
  return CSV_HEADER.split(",").map((k) => (k === "tags" ? `"${c.tags}"` : c[k])).join(",");
}

/**
 * Row `i` with every field changed but its SKU and currency (name, description, price, stock, status, brand, category,
 * barcode cleared or set, image, tags): the full-row update, where each row rewrites its whole product.
 */
export function changedCells(rows: number, i: number): Record<string, string> {
  const c = productCells(rows, i);
  const cents = Math.round(Number(c.price) * 100) + 100;
  return {
    ...c,
    name: `${c.name} (2)`,
    description: `${c.description} revised`,
    price: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`,
    stock: String((Number(c.stock) + 2) % 1000),
    status: "draft",
    brand: `${c.brand} Co`,
    category: `${c.category} > New`,
    barcode: "",
    image_url: (c.image_url ?? "").replace(".jpg", "-2.jpg"),
    tags: `${c.tags},revised`,
  };
}

/** One line of the stock feed (`sku,stock`) for the file of `rows` rows: every stock differs from the file's, so each row updates. */
export function stockFeedLine(rows: number, i: number): string {
  const c = productCells(rows, i);
  return `${c.sku},${(Number(c.stock) + 1) % 1000}`;
}

/** Row `i` as the consumer validates and stores it. */
export function productOf(rows: number, i: number): ProductInput {
  const result = validateProductRow(productCells(rows, i), CURRENCY);
  if (!result.ok) throw new Error(`bench row ${i} is invalid: ${JSON.stringify(result.errors)}`);
  return result.product;
}
