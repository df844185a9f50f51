// Deterministic product rows for the benchmarks: row i of a size depends only on (size label, i), never on a
// random seed. Pure (no Node APIs), so the import benchmark's CSV files, its raw SQLite baseline and the
// write-shape benchmark's Worker (scripts/bench/write-shapes/) all build the very same rows.

export const CSV_HEADER = "sku,name,description,price,currency,stock,status,brand,category,barcode,image_url,tags";

export interface BenchProduct {
  sku: string;
  name: string;
  description: string;
  /** Price in cents; the CSV holds it as a decimal ("19.99"). */
  priceCents: number;
  currency: string;
  stock: number;
  status: string;
  brand: string;
  category: string;
  /** A valid GTIN-13, or "" (blank cell). */
  barcode: string;
  imageUrl: string;
  tags: string[];
}

const BRANDS = ["Acme", "Northwind", "Contoso", "Fabrikam", "Globex", "Initech", "Umbrella", "Tailspin", "Wayfarer", "Lumen"];
const CATEGORIES = ["Apparel", "Footwear", "Home", "Kitchen", "Outdoor", "Toys", "Beauty", "Sports", "Garden", "Office"];
const KINDS = ["T-shirt", "Hoodie", "Sneaker", "Mug", "Lamp", "Backpack", "Towel", "Jacket", "Bottle", "Notebook", "Cap", "Blanket"];
const ADJECTIVES = ["Classic", "Everyday", "Premium", "Light", "Recycled", "Organic", "Compact", "Heritage"];
const COLORS = ["red", "navy", "black", "white", "olive", "sand", "grey", "teal"];
const SIZES = ["XS", "S", "M", "L", "XL"];
const MATERIALS = ["cotton", "wool", "linen", "steel", "bamboo", "canvas", "ceramic", "leather"];
const SEASONS = ["summer", "winter", "spring", "autumn", "all-season"];

/** 32-bit mixing hash (murmur3 finaliser) of (i, salt): cheap, deterministic, well spread. */
function mix(i: number, salt: number): number {
  let h = (Math.imul(i, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function pick<T>(list: readonly T[], i: number, salt: number): T {
  return list[mix(i, salt) % list.length]!;
}

/** GS1 mod-10 check digit of the digits before it. */
export function gtinCheckDigit(body: string): number {
  let sum = 0;
  for (let k = 0; k < body.length; k++) {
    const digit = body.charCodeAt(body.length - 1 - k) - 48;
    sum += digit * (k % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

/** "10K", "100K", "1M", or the number itself. Used in SKUs so every size imports distinct products. */
export function sizeLabel(rows: number): string {
  if (rows % 1_000_000 === 0) return `${rows / 1_000_000}M`;
  if (rows % 1_000 === 0) return `${rows / 1_000}K`;
  return String(rows);
}

/** Row `i` (1-based) of the file of `rows` rows. */
export function benchProduct(rows: number, i: number): BenchProduct {
  const label = sizeLabel(rows);
  const serial = String(i).padStart(7, "0");
  const kind = pick(KINDS, i, 1);
  const brand = pick(BRANDS, i, 2);
  const color = pick(COLORS, i, 3);
  const size = pick(SIZES, i, 4);
  const material = pick(MATERIALS, i, 5);
  const adjective = pick(ADJECTIVES, i, 6);
  const sku = `${label}-${serial}`;
  // 70 % of the products carry an EAN-13 (GS1 prefix 400-440, then 9 digits derived from i).
  let barcode = "";
  if (mix(i, 7) % 10 < 7) {
    const body = `4${String(mix(i, 8) % 100).padStart(2, "0")}${String(mix(i, 9) % 1_000_000_000).padStart(9, "0")}`;
    barcode = `${body}${gtinCheckDigit(body)}`;
  }
  const tags = [pick(SEASONS, i, 10), material];
  return {
    sku,
    name: `${brand} ${adjective} ${kind} ${color} ${size}`,
    // Half of the products have a short description; the other half leave the cell blank.
    description: mix(i, 14) % 2 === 0 ? `${adjective} ${material} ${kind.toLowerCase()}` : "",
    priceCents: 199 + (mix(i, 11) % 19_800),
    currency: "USD",
    stock: mix(i, 12) % 1000,
    status: "active",
    brand,
    category: pick(CATEGORIES, i, 13),
    barcode,
    imageUrl: `https://cdn.example.com/${sku.toLowerCase()}.jpg`,
    tags,
  };
}

export function formatPrice(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

/** One CSV line (no line break). No generated value contains a quote, comma or line break except tags. */
export function csvLine(p: BenchProduct): string {
  return [
    p.sku,
    p.name,
    p.description,
    formatPrice(p.priceCents),
    p.currency,
    String(p.stock),
    p.status,
    p.brand,
    p.category,
    p.barcode,
    p.imageUrl,
    `"${p.tags.join(",")}"`,
  ].join(",");
}

