// Cells built to be the worst a product rule could meet: long repeats that a backtracking regular expression, a split
// or JSON.parse would choke on. Each is exactly `length` characters, nothing to trim.
import type { ProductColumn } from "../src/catalog/fields.ts";

export const MIB = 1024 * 1024;

/** `pattern` repeated to `length` characters, ending with `end`. */
const fill = (pattern: string, length: number, end = "") => pattern.repeat(Math.ceil(length / pattern.length)).slice(0, length - end.length) + end;

const CELLS: Record<ProductColumn, (length: number) => string> = {
  sku: (n) => fill("A", n),
  name: (n) => fill("n", n),
  description: (n) => fill("<p>", n),
  price: (n) => fill(".a", n, "!"),
  currency: (n) => fill("u", n),
  stock: (n) => fill("1", n, "x"),
  status: (n) => fill("a", n),
  brand: (n) => fill("b", n),
  category: (n) => fill("c", n),
  image_url: (n) => `http://${fill("a", n - 9)} x`,
  barcode: (n) => fill("1", n, "e+"),
  tags: (n) => fill(",", n),
  group: (n) => fill("g", n),
  options: (n) => fill("[", n),
};

export function adversarialCell(column: ProductColumn, length: number): string {
  return CELLS[column](length);
}
