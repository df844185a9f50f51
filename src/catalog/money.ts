/**
 * Money handling for the catalog: ISO 4217 codes, minor-unit digits, and
 * exact conversion between decimal text and integer minor units.
 *
 * Amounts are never held as floats: decimal text is parsed digit by digit
 * into an integer number of minor units (cents, fils, ...).
 */
import { quote } from "../text.ts";

/*
 * ISO 4217 List One (published 2026-01-01), grouped by minor-unit digits.
 * Fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) are included.
 * Codes whose minor unit is "N.A." (XAU, XAG, XPD, XPT, XDR, XBA-XBD, XSU,
 * XUA, XTS, XXX) are left out on purpose: nothing can be priced in them.
 * Withdrawn codes (ANG, BGN, CUC, HRK, SLL, ZWL, ...) are not active.
 */
const CURRENCIES_BY_DIGITS: readonly (readonly [digits: number, codes: string])[] = [
  [0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"],
  [
    2,
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
      "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP " +
      "GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT " +
      "LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN " +
      "NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE " +
      "SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES " +
      "WST XAD XCD XCG YER ZAR ZMW ZWG",
  ],
  [3, "BHD IQD JOD KWD LYD OMR TND"],
  [4, "CLF UYW"],
];

const MINOR_DIGITS: ReadonlyMap<string, number> = buildDigitsTable();

function buildDigitsTable(): Map<string, number> {
  const table = new Map<string, number>();
  for (const [digits, codes] of CURRENCIES_BY_DIGITS) {
    for (const code of codes.split(" ")) table.set(code, digits);
  }
  return table;
}

/** All active ISO 4217 codes this catalog accepts, sorted. */
export const currencyCodes: readonly string[] = [...MINOR_DIGITS.keys()].sort();

/** True for an active ISO 4217 code. Expects upper case ("usd" is false). */
export function isCurrencyCode(code: string): boolean {
  return MINOR_DIGITS.has(code);
}

/** Number of minor-unit digits (USD 2, JPY 0, KWD 3). Throws for unknown codes. */
export function minorUnitDigits(code: string): number {
  const digits = MINOR_DIGITS.get(code);
  if (digits === undefined) throw new RangeError(`Unknown ISO 4217 currency code: ${code}`);
  return digits;
}

export type MoneyErrorCode =
  | "required"
  | "invalid_decimal"
  | "thousands_separator"
  | "decimal_comma"
  | "currency_symbol"
  | "scientific_notation"
  | "negative"
  | "too_many_decimals"
  | "too_large"
  | "invalid_currency";

export type MoneyError = { ok: false; code: MoneyErrorCode; message: string };

/** A syntactically valid non-negative decimal, split at the decimal point. */
export type DecimalParts = { ok: true; whole: string; fraction: string };

export type MinorResult = { ok: true; minor: number } | MoneyError;

// Each pattern is linear in the text (parseDecimal is exported, so it may meet any length): anchored, one way to
// match, or as noted. NEGATIVE's `.*` runs to the end once and gives back once; LEADING_WORD's `\s*` can only start
// where the letters end; GROUPED's repeats are a separator and exactly three digits, each given back once.
const PLAIN_DECIMAL = /^(\d*)(?:\.(\d*))?$/;
const NEGATIVE = /^(?:[-\u2212]|\(.*\)$)/;
const SCIENTIFIC = /^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)[eE][+-]?\d+$/;
const CURRENCY_SIGN = /\p{Sc}/u;
// Letters glued to the number, e.g. "CHF 10", "kr 25", "zł 5" (a word before it) or "19.99 EUR", "10 Kč" (after it).
const LEADING_WORD = /^\p{L}[\p{L}.]*\s*[\d.,]/u;
// The letters and dots that end the text, tried only where such a run starts (the lookbehind), so each character is
// read once: `[\d.,]\s*\p{L}[\p{L}.]*$` tried at every position reads the rest of the run each time (quadratic).
const TRAILING_RUN = /(?<![\p{L}.])[\p{L}.]+$/u;
const DOT_THEN_LETTER = /\.\p{L}/u;
const STARTS_WITH_LETTER = /^\p{L}/u;
// Groups of three digits separated by , . ' or (narrow) spaces: 1,299.00 / 1.299,00 / 1 299,00.
const GROUPED = /^\d{1,3}(?:([,.'\u2019 \u00a0\u202f])\d{3})(?:\1\d{3})*(?:[.,]\d+)?$/;
const DECIMAL_COMMA = /^\d*,\d+$/;

function fail(code: MoneyErrorCode, message: string): MoneyError {
  return { ok: false, code, message };
}

/**
 * Splits a plain non-negative decimal ("19.99", "20", "0.5", ".5") into its
 * digits, or explains precisely what is wrong with it. Surrounding whitespace
 * is ignored. `label` names the amount in messages (e.g. "Price").
 */
export function parseDecimal(text: string, label = "The amount"): DecimalParts | MoneyError {
  const s = text.trim();
  const plain = PLAIN_DECIMAL.exec(s);
  if (plain !== null) {
    const whole = plain[1] ?? "";
    const fraction = plain[2] ?? "";
    if (whole.length + fraction.length > 0) return { ok: true, whole, fraction };
  }
  return classifyBadDecimal(s, label);
}

function classifyBadDecimal(s: string, label: string): MoneyError {
  if (s === "") return fail("required", `${label} is required.`);
  if (s.startsWith("+") && PLAIN_DECIMAL.test(s.slice(1))) {
    return fail("invalid_decimal", `${label} ${quote(s)} must not have a plus sign; write it as ${quote(s.slice(1))}.`);
  }
  if (NEGATIVE.test(s)) return fail("negative", `${label} cannot be negative.`);
  if (SCIENTIFIC.test(s)) {
    return fail(
      "scientific_notation",
      `${label} ${quote(s)} is in scientific notation; write it as a plain decimal such as 1000.00 ` +
        "(if a spreadsheet produced it, format the column as text or as a plain number).",
    );
  }
  if (CURRENCY_SIGN.test(s) || LEADING_WORD.test(s) || endsWithWord(s)) {
    return fail(
      "currency_symbol",
      `${label} ${quote(s)} contains a currency symbol or code; write only the number, such as 19.99, ` +
        "and put the currency in the currency column.",
    );
  }
  if (GROUPED.test(s)) {
    return fail(
      "thousands_separator",
      `${label} ${quote(s)} contains a thousands separator; write it without grouping and with a dot ` +
        "for decimals, such as 1299.00.",
    );
  }
  if (DECIMAL_COMMA.test(s)) {
    return fail("decimal_comma", `${label} ${quote(s)} uses a comma for decimals; use a dot, such as 19.99.`);
  }
  return fail("invalid_decimal", `${label} ${quote(s)} is not a number; write a plain decimal such as 19.99.`);
}

/**
 * Whether a word ends the text right after a number: a run of letters and dots at its end that has a letter after a
 * dot, or starts with a letter after a digit, dot or comma (spaces between allowed).
 */
function endsWithWord(s: string): boolean {
  const run = TRAILING_RUN.exec(s);
  if (run === null) return false;
  if (DOT_THEN_LETTER.test(run[0])) return true;
  const before = s.slice(0, run.index).trimEnd();
  return STARTS_WITH_LETTER.test(run[0]) && before !== "" && ".,0123456789".includes(before[before.length - 1]!);
}

/**
 * Converts parsed decimal digits into integer minor units of `currency`.
 * Extra trailing zeros ("19.990" for USD) are accepted because they lose nothing;
 * any other digit beyond the currency's precision is rejected, never rounded.
 */
export function decimalToMinor(parts: DecimalParts, currency: string, label = "The amount"): MinorResult {
  const digits = MINOR_DIGITS.get(currency);
  if (digits === undefined) {
    return fail("invalid_currency", `${quote(currency)} is not an active ISO 4217 currency code.`);
  }
  const fraction = parts.fraction;
  for (let i = digits; i < fraction.length; i++) {
    if (fraction.charCodeAt(i) !== 48) return tooManyDecimals(currency, digits, label);
  }
  const whole = appendDigits(0, parts.whole, parts.whole.length);
  const minor = appendDigits(whole, fraction.padEnd(digits, "0"), digits);
  if (minor < 0) return fail("too_large", `${label} is too large.`);
  return { ok: true, minor };
}

/** Appends decimal digits to an integer; -1 means the result would exceed MAX_SAFE_INTEGER. */
function appendDigits(start: number, digits: string, count: number): number {
  let n = start;
  for (let i = 0; i < count && n >= 0; i++) {
    const d = digits.charCodeAt(i) - 48;
    n = n > (Number.MAX_SAFE_INTEGER - d) / 10 ? -1 : n * 10 + d;
  }
  return n;
}

function tooManyDecimals(currency: string, digits: number, label: string): MoneyError {
  const allowed =
    digits === 0 ? `${currency} has no decimal places` : `${currency} allows at most ${digits} decimal place${digits === 1 ? "" : "s"}`;
  return fail("too_many_decimals", `${label} has too many decimal places: ${allowed}.`);
}

/**
 * Parses a plain decimal string into integer minor units of `currency`
 * ("19.99" USD -> 1999, "5" JPY -> 5, "1.5" KWD -> 1500).
 */
export function parseDecimalToMinor(text: string, currency: string, label = "The amount"): MinorResult {
  if (!MINOR_DIGITS.has(currency)) {
    return fail("invalid_currency", `${quote(currency)} is not an active ISO 4217 currency code.`);
  }
  const parts = parseDecimal(text, label);
  if (!parts.ok) return parts;
  return decimalToMinor(parts, currency, label);
}

/**
 * Formats integer minor units as a plain decimal string with exactly the
 * currency's digits (1999 USD -> "19.99", 5 JPY -> "5", 1500 KWD -> "1.500").
 */
export function formatMinor(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`Minor units must be a safe integer, got ${minor}`);
  const digits = minorUnitDigits(currency);
  const sign = minor < 0 ? "-" : "";
  const abs = String(Math.abs(minor));
  if (digits === 0) return sign + abs;
  const padded = abs.padStart(digits + 1, "0");
  const cut = padded.length - digits;
  return `${sign}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}
