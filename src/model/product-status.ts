// A product's status: one list for the stored column, the row rule and the API's enum.
export const productStatuses = ["active", "draft", "archived"] as const;
export type ProductStatus = (typeof productStatuses)[number];
