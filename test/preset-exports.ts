// Platform exports built from the platforms' published column lists: Shopify's product_template.csv (the classic
// header) and the header of its current product export, WooCommerce's sample-data/sample_products.csv and the
// columns of its current product exporter (WC_Product_CSV_Exporter). Rows are given by column name; the rest are blank.

export const SHOPIFY_CLASSIC_HEADER = [
  "Handle", "Title", "Body (HTML)", "Vendor", "Product Category", "Type", "Tags", "Published",
  "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Option3 Name", "Option3 Value",
  "Variant SKU", "Variant Grams", "Variant Inventory Tracker", "Variant Inventory Qty", "Variant Inventory Policy",
  "Variant Fulfillment Service", "Variant Price", "Variant Compare At Price", "Variant Requires Shipping", "Variant Taxable",
  "Variant Barcode", "Image Src", "Image Position", "Image Alt Text", "Gift Card", "SEO Title", "SEO Description",
  "Google Shopping / Google Product Category", "Google Shopping / Gender", "Google Shopping / Age Group", "Google Shopping / MPN",
  "Google Shopping / AdWords Grouping", "Google Shopping / AdWords Labels", "Google Shopping / Condition",
  "Google Shopping / Custom Product", "Google Shopping / Custom Label 0", "Google Shopping / Custom Label 1",
  "Google Shopping / Custom Label 2", "Google Shopping / Custom Label 3", "Google Shopping / Custom Label 4",
  "Variant Image", "Variant Weight Unit", "Variant Tax Code", "Cost per item", "Price / International",
  "Compare At Price / International", "Status",
];

export const SHOPIFY_CURRENT_HEADER = [
  "Title", "URL handle", "Description", "Vendor", "Product category", "Type", "Tags", "Published on online store", "Status",
  "SKU", "Barcode", "Option1 name", "Option1 value", "Option1 Linked To", "Option2 name", "Option2 value", "Option2 Linked To",
  "Option3 name", "Option3 value", "Option3 Linked To", "Price", "Compare-at price", "Cost per item", "Charge tax", "Tax code",
  "Unit price total measure", "Unit price total measure unit", "Unit price base measure", "Unit price base measure unit",
  "Inventory tracker", "Inventory quantity", "Continue selling when out of stock", "Weight value (grams)",
  "Weight unit for display", "Requires shipping", "Fulfillment service", "Product image URL", "Image position",
  "Image alt text", "Variant image URL", "Gift card", "SEO title", "SEO description",
  "Color (product.metafields.shopify.color-pattern)", "Google Shopping / Google product category", "Google Shopping / Gender",
  "Google Shopping / Age group", "Google Shopping / Manufacturer part number (MPN)", "Google Shopping / Ad group name",
  "Google Shopping / Ads labels", "Google Shopping / Condition", "Google Shopping / Custom product",
  "Google Shopping / Custom label 0", "Google Shopping / Custom label 1", "Google Shopping / Custom label 2",
  "Google Shopping / Custom label 3", "Google Shopping / Custom label 4",
];

/** The classic header's column names in the current header, for the columns that were renamed. */
export const SHOPIFY_CURRENT_NAMES: Record<string, string> = {
  Handle: "URL handle", "Body (HTML)": "Description", "Product Category": "Product category", Published: "Published on online store",
  "Option1 Name": "Option1 name", "Option1 Value": "Option1 value", "Option2 Name": "Option2 name", "Option2 Value": "Option2 value",
  "Option3 Name": "Option3 name", "Option3 Value": "Option3 value", "Variant SKU": "SKU", "Variant Inventory Qty": "Inventory quantity",
  "Variant Price": "Price", "Variant Compare At Price": "Compare-at price", "Variant Barcode": "Barcode", "Image Src": "Product image URL",
  "Image Position": "Image position", "Variant Image": "Variant image URL", "Variant Grams": "Weight value (grams)",
  "Variant Inventory Tracker": "Inventory tracker", "Variant Fulfillment Service": "Fulfillment service",
};

export const WOO_SAMPLE_HEADER = [
  "ID", "Type", "SKU", "Name", "Published", "Is featured?", "Visibility in catalog", "Short description", "Description",
  "Date sale price starts", "Date sale price ends", "Tax status", "Tax class", "In stock?", "Stock", "Backorders allowed?",
  "Sold individually?", "Weight (lbs)", "Length (in)", "Width (in)", "Height (in)", "Allow customer reviews?", "Purchase note",
  "Sale price", "Regular price", "Categories", "Tags", "Shipping class", "Images", "Download limit", "Download expiry days",
  "Parent", "Grouped products", "Upsells", "Cross-sells", "External URL", "Button text", "Position", "Attribute 1 name",
  "Attribute 1 value(s)", "Attribute 1 visible", "Attribute 1 global", "Attribute 2 name", "Attribute 2 value(s)",
  "Attribute 2 visible", "Attribute 2 global", "Meta: _wpcom_is_markdown", "Download 1 name", "Download 1 URL",
  "Download 2 name", "Download 2 URL",
];

export const WOO_CURRENT_HEADER = [
  "ID", "Type", "SKU", "GTIN, UPC, EAN, or ISBN", "Name", "Published", "Is featured?", "Visibility in catalog", "Short description",
  "Description", "Date sale price starts", "Date sale price ends", "Tax status", "Tax class", "In stock?", "Stock",
  "Low stock amount", "Backorders allowed?", "Sold individually?", "Weight (kg)", "Length (cm)", "Width (cm)", "Height (cm)",
  "Allow customer reviews?", "Purchase note", "Sale price", "Regular price", "Categories", "Tags", "Shipping class", "Images",
  "Download limit", "Download expiry days", "Parent", "Grouped products", "Upsells", "Cross-sells", "External URL", "Button text",
  "Position", "Brands", "Attribute 1 name", "Attribute 1 value(s)", "Attribute 1 visible", "Attribute 1 global",
];

function cell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A CSV file with `header` and one line per row (cells by column name; a name the header lacks is an error). */
export function exportFile(header: readonly string[], rows: readonly Record<string, string>[]): string {
  for (const row of rows) for (const name of Object.keys(row)) if (!header.includes(name)) throw new Error(`no column ${name} in the header`);
  return [header, ...rows.map((row) => header.map((name) => row[name] ?? ""))].map((cells) => `${cells.map(cell).join(",")}\n`).join("");
}

/** Rows of the classic Shopify header with the current header's column names (columns it has no more are left out). */
export function asCurrentShopify(rows: readonly Record<string, string>[]): Record<string, string>[] {
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row)
        .map(([name, value]) => [SHOPIFY_CURRENT_NAMES[name] ?? name, value] as const)
        .filter(([name]) => SHOPIFY_CURRENT_HEADER.includes(name)),
    ),
  );
}

/**
 * A Shopify catalog as its export writes it: a t-shirt with two options over three variants and a further image, a
 * hat without variants (Default Title), and trousers whose first row is a variant without a SKU.
 */
export const SHOPIFY_ROWS: Record<string, string>[] = [
  {
    Handle: "example-t-shirt", Title: "Example T-Shirt", "Body (HTML)": "<p>Soft, <em>organic</em> cotton.</p>", Vendor: "Acme",
    "Product Category": "Apparel & Accessories > Clothing", Type: "Shirts", Tags: "cotton, summer", Published: "TRUE",
    "Option1 Name": "Color", "Option1 Value": "Green", "Option2 Name": "Size", "Option2 Value": "M",
    "Variant SKU": "TS-GREEN-M", "Variant Grams": "200", "Variant Inventory Tracker": "shopify", "Variant Inventory Qty": "12",
    "Variant Inventory Policy": "deny", "Variant Fulfillment Service": "manual", "Variant Price": "19.99",
    "Variant Compare At Price": "24.99", "Variant Barcode": "4006381333931",
    "Image Src": "https://cdn.example.com/t-shirt.jpg", "Image Position": "1", "Status": "active",
  },
  {
    Handle: "example-t-shirt", "Option1 Value": "Green", "Option2 Value": "L", "Variant SKU": "TS-GREEN-L",
    "Variant Inventory Qty": "5", "Variant Price": "19.99", "Variant Image": "https://cdn.example.com/t-shirt-green-l.jpg",
  },
  {
    Handle: "example-t-shirt", "Option1 Value": "Blue", "Option2 Value": "M", "Variant SKU": "TS-BLUE-M",
    "Variant Price": "21.00",
  },
  { Handle: "example-t-shirt", "Image Src": "https://cdn.example.com/t-shirt-back.jpg", "Image Position": "2" },
  {
    Handle: "example-hat", Title: "Example Hat", Vendor: "Acme", "Product Category": "Apparel & Accessories > Clothing",
    Tags: "hat", Published: "FALSE", "Option1 Name": "Title", "Option1 Value": "Default Title", "Variant SKU": "HAT-1",
    "Variant Inventory Qty": "3", "Variant Price": "17.99", "Image Src": "https://cdn.example.com/hat.jpg",
  },
  {
    Handle: "example-pants", Title: "Example Pants", Vendor: "Acme", Published: "TRUE", "Option1 Name": "Waist",
    "Option1 Value": "30", "Variant Price": "49.99", Status: "archived",
  },
  { Handle: "example-pants", "Option1 Value": "32", "Variant SKU": "PANTS-32", "Variant Price": "49.99", "Variant Inventory Qty": "4" },
];

/** The products SHOPIFY_ROWS make (in SKU order), as the API returns them without timestamps. */
export const SHOPIFY_PRODUCTS = [
  {
    sku: "HAT-1", name: "Example Hat", description: null, price: "17.99", currency: "USD", stock: 3, status: "draft", brand: "Acme",
    category: "Apparel & Accessories > Clothing", barcode: null, image_url: "https://cdn.example.com/hat.jpg", tags: ["hat"],
    group: "example-hat", options: {},
  },
  {
    sku: "PANTS-32", name: "Example Pants - 32", description: null, price: "49.99", currency: "USD", stock: 4, status: "archived",
    brand: "Acme", category: null, barcode: null, image_url: null, tags: [], group: "example-pants", options: { Waist: "32" },
  },
  {
    sku: "TS-BLUE-M", name: "Example T-Shirt - Blue / M", description: "<p>Soft, <em>organic</em> cotton.</p>", price: "21.00",
    currency: "USD", stock: 0, status: "active", brand: "Acme", category: "Apparel & Accessories > Clothing", barcode: null,
    image_url: "https://cdn.example.com/t-shirt.jpg", tags: ["cotton", "summer"], group: "example-t-shirt", options: { Color: "Blue", Size: "M" },
  },
  {
    sku: "TS-GREEN-L", name: "Example T-Shirt - Green / L", description: "<p>Soft, <em>organic</em> cotton.</p>", price: "19.99",
    currency: "USD", stock: 5, status: "active", brand: "Acme", category: "Apparel & Accessories > Clothing", barcode: null,
    image_url: "https://cdn.example.com/t-shirt-green-l.jpg", tags: ["cotton", "summer"], group: "example-t-shirt",
    options: { Color: "Green", Size: "L" },
  },
  {
    sku: "TS-GREEN-M", name: "Example T-Shirt - Green / M", description: "<p>Soft, <em>organic</em> cotton.</p>", price: "19.99",
    currency: "USD", stock: 12, status: "active", brand: "Acme", category: "Apparel & Accessories > Clothing", barcode: "4006381333931",
    image_url: "https://cdn.example.com/t-shirt.jpg", tags: ["cotton", "summer"], group: "example-t-shirt", options: { Color: "Green", Size: "M" },
  },
];

/** Shopify columns the preset reads (both headers' names); every other column of a header is ignored. */
export const SHOPIFY_READ_COLUMNS = new Set([
  "Handle", "URL handle", "Title", "Body (HTML)", "Description", "Vendor", "Product Category", "Product category", "Tags",
  "Published", "Published on online store", "Status", "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value",
  "Option3 Name", "Option3 Value", "Option1 name", "Option1 value", "Option2 name", "Option2 value", "Option3 name",
  "Option3 value", "Variant SKU", "SKU", "Variant Inventory Qty", "Inventory quantity", "Variant Price", "Price",
  "Variant Barcode", "Barcode", "Image Src", "Product image URL", "Variant Image", "Variant image URL",
]);

const LOREM = "Pellentesque habitant morbi tristique senectus et netus et malesuada fames ac turpis egestas.";

/**
 * Rows of WooCommerce's sample_products.csv (descriptions shortened): variable and grouped parents, simple,
 * downloadable and external products, variations with a blank attribute ("any Size"), plus a variation whose parent
 * has no SKU (Parent `id:…`), an unpublished one, and a product with several categories and images.
 */
export const WOO_ROWS: Record<string, string>[] = [
  {
    ID: "44", Type: "variable", SKU: "woo-vneck-tee", Name: "Awesome V-Neck T-Shirt", Published: "1", "Short description": "This is a variable product.",
    Description: LOREM, "In stock?": "1", Categories: "Clothing > Tshirts",
    Images: "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/vneck-tee-2.jpg, https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/vnech-tee-green-1.jpg",
    "Attribute 1 name": "Color", "Attribute 1 value(s)": "Blue, Green, Red", "Attribute 1 visible": "1", "Attribute 1 global": "1",
    "Attribute 2 name": "Size", "Attribute 2 value(s)": "Large, Medium, Small", "Attribute 2 visible": "1", "Attribute 2 global": "1",
  },
  {
    ID: "46", Type: "simple", SKU: "woo-hoodie-with-logo", Name: "Hoodie with Logo", Published: "1", Description: LOREM, "In stock?": "1",
    "Regular price": "45", Categories: "Clothing > Hoodies",
    Images: "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/hoodie-with-logo-2.jpg",
    "Attribute 1 name": "Color", "Attribute 1 value(s)": "Blue", "Attribute 1 visible": "1", "Attribute 1 global": "1",
  },
  {
    ID: "73", Type: "simple, downloadable, virtual", SKU: "woo-album", Name: "Album", Published: "1", Description: LOREM,
    "In stock?": "1", "Regular price": "15", Categories: "Music",
    Images: "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/album-1.jpg", "Download limit": "1",
    "Download expiry days": "1", "Download 1 name": "Single 1",
    "Download 1 URL": "https://demo.woothemes.com/woocommerce/wp-content/uploads/sites/56/2017/08/single.jpg",
  },
  {
    ID: "76", Type: "variation", SKU: "woo-vneck-tee-red", Name: "V-Neck T-Shirt - Red", Published: "1", Description: LOREM,
    "In stock?": "1", "Regular price": "20",
    Images: "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/vneck-tee-2.jpg", Parent: "woo-vneck-tee",
    "Attribute 1 name": "Color", "Attribute 1 value(s)": "Red", "Attribute 1 global": "1", "Attribute 2 name": "Size",
    "Attribute 2 global": "1",
  },
  {
    ID: "79", Type: "variation", SKU: "woo-hoodie-red", Name: "Hoodie - Red, No", Published: "1", Description: LOREM, "In stock?": "1",
    "Sale price": "42", "Regular price": "45", Images: "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/hoodie-2.jpg",
    Parent: "woo-hoodie", Position: "1", "Attribute 1 name": "Color", "Attribute 1 value(s)": "Red", "Attribute 1 global": "1",
    "Attribute 2 name": "Logo", "Attribute 2 value(s)": "No", "Attribute 2 global": "0",
  },
  {
    ID: "87", Type: "grouped", SKU: "logo-collection", Name: "Logo Collection", Published: "1", Description: LOREM, "In stock?": "1",
    Categories: "Clothing", "Grouped products": "woo-hoodie-with-logo, woo-tshirt, woo-beanie",
  },
  {
    ID: "89", Type: "external", SKU: "wp-pennant", Name: "WordPress Pennant", Published: "1", Description: LOREM, "In stock?": "1",
    "Regular price": "11.05", Categories: "Decor", Images: "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12/pennant-1.jpg",
    "External URL": "https://mercantile.wordpress.org/product/wordpress-pennant/", "Button text": "Buy on the WordPress swag store!",
  },
  {
    ID: "91", Type: "variation", SKU: "mug-large", Name: "Mug - Large", Published: "0", Stock: "7", "In stock?": "1",
    "Regular price": "9.50", Parent: "id:90", "Attribute 1 name": "Size", "Attribute 1 value(s)": "Large", "Attribute 1 global": "0",
  },
  {
    ID: "92", Type: "simple", SKU: "poster", Name: "Poster", Published: "-1", Description: "Matte paper.\\nShips rolled (see \\\\n).",
    Stock: "2", "In stock?": "1", "Regular price": "5",
    Categories: "Decor > Posters\\, prints, Clothing", Tags: "summer, wall art",
    Images: "https://cdn.example.com/poster-1.jpg, https://cdn.example.com/poster-2.jpg",
  },
];

const IMAGES = "https://woocommercecore.mystagingwebsite.com/wp-content/uploads/2017/12";

/** The products WOO_ROWS make (in SKU order), as the API returns them without timestamps. */
export const WOO_PRODUCTS = [
  {
    sku: "mug-large", name: "Mug - Large", description: null, price: "9.50", currency: "USD", stock: 7, status: "draft", brand: null,
    category: null, barcode: null, image_url: null, tags: [], group: "id:90", options: { Size: "Large" },
  },
  {
    sku: "poster", name: "Poster", description: "Matte paper.\nShips rolled (see \\n).", price: "5.00", currency: "USD", stock: 2, status: "draft", brand: null,
    category: "Decor > Posters, prints", barcode: null, image_url: "https://cdn.example.com/poster-1.jpg", tags: ["summer", "wall art"],
    group: null, options: {},
  },
  {
    sku: "woo-album", name: "Album", description: LOREM, price: "15.00", currency: "USD", stock: 0, status: "active", brand: null,
    category: "Music", barcode: null, image_url: `${IMAGES}/album-1.jpg`, tags: [], group: null, options: {},
  },
  {
    sku: "woo-hoodie-red", name: "Hoodie - Red, No", description: LOREM, price: "45.00", currency: "USD", stock: 0, status: "active",
    brand: null, category: null, barcode: null, image_url: `${IMAGES}/hoodie-2.jpg`, tags: [], group: "woo-hoodie",
    options: { Color: "Red", Logo: "No" },
  },
  {
    sku: "woo-hoodie-with-logo", name: "Hoodie with Logo", description: LOREM, price: "45.00", currency: "USD", stock: 0, status: "active",
    brand: null, category: "Clothing > Hoodies", barcode: null, image_url: `${IMAGES}/hoodie-with-logo-2.jpg`, tags: [], group: null,
    options: {},
  },
  {
    sku: "woo-vneck-tee-red", name: "V-Neck T-Shirt - Red", description: LOREM, price: "20.00", currency: "USD", stock: 0, status: "active",
    brand: null, category: null, barcode: null, image_url: `${IMAGES}/vneck-tee-2.jpg`, tags: [], group: "woo-vneck-tee", options: { Color: "Red" },
  },
  {
    sku: "wp-pennant", name: "WordPress Pennant", description: LOREM, price: "11.05", currency: "USD", stock: 0, status: "active", brand: null,
    category: "Decor", barcode: null, image_url: `${IMAGES}/pennant-1.jpg`, tags: [], group: null, options: {},
  },
];
