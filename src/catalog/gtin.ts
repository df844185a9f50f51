/**
 * GTIN (EAN/UPC) barcode validation: GTIN-8, GTIN-12 (UPC-A), GTIN-13 (EAN-13)
 * and GTIN-14, digits only, with a valid GS1 mod-10 check digit.
 */
import { quote } from "../text.ts";

export type GtinErrorCode =
  | "required"
  | "scientific_notation"
  | "invalid_characters"
  | "invalid_length"
  | "invalid_check_digit";

export type GtinResult =
  | { ok: true; gtin: string }
  | { ok: false; code: GtinErrorCode; message: string };

const DIGITS = /^\d+$/;
// Spreadsheets turn long digit strings into numbers and print them as "3.65275E+11" (or with a decimal comma).
const SCIENTIFIC = /^\d+(?:[.,]\d+)?[eE]\+?\d+$/;

function fail(code: GtinErrorCode, message: string): GtinResult {
  return { ok: false, code, message };
}

/** Checks a GTIN after trimming surrounding whitespace; on success returns the digits. */
export function checkGtin(value: string): GtinResult {
  const s = value.trim();
  if (s === "") return fail("required", "The barcode is empty.");
  if (SCIENTIFIC.test(s)) {
    return fail(
      "scientific_notation",
      `The barcode ${quote(s)} looks like a number a spreadsheet reformatted in scientific notation; ` +
        "format the column as text and export the file again.",
    );
  }
  if (!DIGITS.test(s)) {
    return fail("invalid_characters", `The barcode ${quote(s)} must contain digits only (no spaces, dashes or letters).`);
  }
  const n = s.length;
  if (n !== 8 && n !== 12 && n !== 13 && n !== 14) {
    return fail(
      "invalid_length",
      `The barcode ${quote(s)} has ${n} digits; a GTIN has 8, 12, 13 or 14 digits (EAN-8, UPC-A, EAN-13, GTIN-14).`,
    );
  }
  const expected = gtinCheckDigit(s.slice(0, -1));
  if (s.charCodeAt(n - 1) - 48 !== expected) {
    return fail(
      "invalid_check_digit",
      `The barcode ${quote(s)} has an invalid check digit (the last digit should be ${expected}); check it for typos.`,
    );
  }
  return { ok: true, gtin: s };
}

/**
 * GS1 mod-10 check digit for the digits before it. Weights alternate 3,1,3,...
 * from the rightmost digit, so leading zeros never change the result.
 */
export function gtinCheckDigit(body: string): number {
  let sum = 0;
  let weight = 3;
  for (let i = body.length - 1; i >= 0; i--) {
    sum += (body.charCodeAt(i) - 48) * weight;
    weight = 4 - weight;
  }
  return (10 - (sum % 10)) % 10;
}
