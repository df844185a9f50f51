import { describe, expect, it } from "vitest";
import {
  currencyCodes,
  formatMinor,
  isCurrencyCode,
  minorUnitDigits,
  parseDecimalToMinor,
} from "../../../src/catalog/money.ts";

const MIB = 1024 * 1024;

describe("isCurrencyCode", () => {
  it.each(["USD", "EUR", "JPY", "GBP", "CHF", "KWD", "CLF", "UYW", "XCG", "ZWG", "SLE", "VED", "BOV", "USN", "XOF"])(
    "accepts the active code %s",
    (code) => {
      expect(isCurrencyCode(code)).toBe(true);
    },
  );

  it.each(["usd", "Usd", "", "US", "USDD", "XYZ", "constructor", "toString"])("rejects %j", (code) => {
    expect(isCurrencyCode(code)).toBe(false);
  });

  it.each(["ANG", "BGN", "CUC", "HRK", "SLL", "ZWL", "DEM", "FRF"])("rejects the withdrawn code %s", (code) => {
    expect(isCurrencyCode(code)).toBe(false);
  });

  it.each(["XAU", "XAG", "XPD", "XPT", "XDR", "XBA", "XTS", "XXX", "XSU", "XUA"])(
    "rejects %s, which has no minor unit and cannot price a product",
    (code) => {
      expect(isCurrencyCode(code)).toBe(false);
    },
  );
});

describe("currencyCodes", () => {
  it("lists every code once, sorted, as three upper-case letters", () => {
    expect(currencyCodes.length).toBe(165);
    expect(new Set(currencyCodes).size).toBe(currencyCodes.length);
    expect([...currencyCodes].sort()).toEqual(currencyCodes);
    for (const code of currencyCodes) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect(isCurrencyCode(code)).toBe(true);
      expect([0, 2, 3, 4]).toContain(minorUnitDigits(code));
    }
  });
});

describe("minorUnitDigits", () => {
  it.each([
    ["USD", 2],
    ["EUR", 2],
    ["GBP", 2],
    ["JPY", 0],
    ["KRW", 0],
    ["ISK", 0],
    ["VND", 0],
    ["CLP", 0],
    ["XAF", 0],
    ["XPF", 0],
    ["UYI", 0],
    ["KWD", 3],
    ["BHD", 3],
    ["JOD", 3],
    ["OMR", 3],
    ["TND", 3],
    ["LYD", 3],
    ["IQD", 3],
    ["CLF", 4],
    ["UYW", 4],
  ] as const)("%s has %i minor-unit digits", (code, digits) => {
    expect(minorUnitDigits(code)).toBe(digits);
  });

  it("throws for an unknown code", () => {
    expect(() => minorUnitDigits("XYZ")).toThrow(RangeError);
    expect(() => minorUnitDigits("usd")).toThrow(RangeError);
  });
});

describe("parseDecimalToMinor", () => {
  it.each([
    ["19.99", "USD", 1999],
    ["20", "USD", 2000],
    ["0.5", "USD", 50],
    [".5", "USD", 50],
    ["5.", "USD", 500],
    ["0", "USD", 0],
    ["0.00", "USD", 0],
    ["007.10", "USD", 710],
    ["  19.99\t", "USD", 1999],
    ["19.990", "USD", 1999],
    ["5", "JPY", 5],
    ["5.0", "JPY", 5],
    ["1500", "KRW", 1500],
    ["1.5", "KWD", 1500],
    ["1.234", "BHD", 1234],
    ["0.001", "OMR", 1],
    ["1.2345", "CLF", 12345],
    ["90071992547409.91", "USD", Number.MAX_SAFE_INTEGER],
    ["9007199254740991", "JPY", Number.MAX_SAFE_INTEGER],
  ] as const)("parses %j in %s as %i minor units", (text, currency, minor) => {
    expect(parseDecimalToMinor(text, currency)).toEqual({ ok: true, minor });
  });

  it.each([
    ["", "required"],
    ["   ", "required"],
    ["1,299.00", "thousands_separator"],
    ["1.299,00", "thousands_separator"],
    ["1,299", "thousands_separator"],
    ["1,299,000.50", "thousands_separator"],
    ["1 299,00", "thousands_separator"],
    ["1\u00a0299,00", "thousands_separator"],
    ["1'299.00", "thousands_separator"],
    ["19,99", "decimal_comma"],
    ["$19.99", "currency_symbol"],
    ["19.99 €", "currency_symbol"],
    ["€19,99", "currency_symbol"],
    ["£5", "currency_symbol"],
    ["USD 19.99", "currency_symbol"],
    ["19.99 EUR", "currency_symbol"],
    ["19.99EUR", "currency_symbol"],
    ["kr 25", "currency_symbol"],
    ["zł 5", "currency_symbol"],
    ["10 Kč", "currency_symbol"],
    ["5.EUR", "currency_symbol"],
    ["19.99 EUR.", "currency_symbol"],
    ["5,-", "invalid_decimal"],
    ["EUR", "invalid_decimal"],
    ["kr", "invalid_decimal"],
    ["1e3", "scientific_notation"],
    ["1E+03", "scientific_notation"],
    ["2.5e-3", "scientific_notation"],
    ["3,65275E+11", "scientific_notation"],
    ["-5", "negative"],
    ["-0.01", "negative"],
    ["\u22125", "negative"],
    ["(5.00)", "negative"],
    ["-1e3", "negative"],
    ["abc", "invalid_decimal"],
    ["1.2.3", "invalid_decimal"],
    [".", "invalid_decimal"],
    ["+5", "invalid_decimal"],
    ["12abc34", "invalid_decimal"],
    ["NaN", "invalid_decimal"],
    ["Infinity", "invalid_decimal"],
    ["٥", "invalid_decimal"],
  ] as const)("rejects %j with %s", (text, code) => {
    const result = parseDecimalToMinor(text, "USD");
    expect(result).toMatchObject({ ok: false, code });
  });

  it.each([
    ["19.999", "USD"],
    ["19.991", "USD"],
    ["5.5", "JPY"],
    ["0.1", "KRW"],
    ["1.2345", "KWD"],
    ["1.23456", "CLF"],
  ] as const)("rejects %j in %s with too_many_decimals (never rounds)", (text, currency) => {
    expect(parseDecimalToMinor(text, currency)).toMatchObject({ ok: false, code: "too_many_decimals" });
  });

  it.each([
    ["90071992547409.92", "USD"],
    ["9007199254740992", "JPY"],
    ["99999999999999999999", "USD"],
    ["900719925474.1", "CLF"],
  ] as const)("rejects %j in %s as beyond MAX_SAFE_INTEGER minor units", (text, currency) => {
    expect(parseDecimalToMinor(text, currency)).toMatchObject({ ok: false, code: "too_large" });
  });

  it("rejects an unknown or lower-case currency", () => {
    expect(parseDecimalToMinor("1.00", "XYZ")).toMatchObject({ ok: false, code: "invalid_currency" });
    expect(parseDecimalToMinor("1.00", "usd")).toMatchObject({ ok: false, code: "invalid_currency" });
  });

  it("explains errors in sentences", () => {
    const tooPrecise = parseDecimalToMinor("5.5", "JPY");
    expect(tooPrecise).toEqual({
      ok: false,
      code: "too_many_decimals",
      message: "The amount has too many decimal places: JPY has no decimal places.",
    });
    const usd = parseDecimalToMinor("19.999", "USD");
    expect(usd.ok === false && usd.message).toBe(
      "The amount has too many decimal places: USD allows at most 2 decimal places.",
    );
    const grouped = parseDecimalToMinor("1,299.00", "USD", "Price");
    expect(grouped.ok === false && grouped.message).toMatch(/^Price "1,299\.00" contains a thousands separator.*1299\.00\.$/);
    const empty = parseDecimalToMinor("", "USD", "Price");
    expect(empty.ok === false && empty.message).toBe("Price is required.");
  });

  // Every pattern is linear: each of these would take minutes if one were quadratic in the text (the first did before
  // its trailing word was matched from where a run of letters starts). The rules refuse such cells for their length.
  it.each([
    [`${".a".repeat(MIB / 2)}!`, "invalid_decimal"],
    [`${"a.".repeat(MIB / 2)}!`, "currency_symbol"],
    [`1${" ".repeat(MIB)}x`, "currency_symbol"],
    [`${"1".repeat(MIB)}x`, "currency_symbol"],
    [`1${",000".repeat(MIB / 4)}x`, "currency_symbol"],
    [`1${",000".repeat(MIB / 4)}`, "thousands_separator"],
    [`(${"1".repeat(MIB)}`, "invalid_decimal"],
    [`${"1".repeat(MIB)}e+`, "invalid_decimal"],
    [`${"1.".repeat(MIB / 2)}x`, "currency_symbol"],
  ])("classifies a bad amount of a mebibyte in one pass (%#)", (text, code) => {
    expect(parseDecimalToMinor(text, "USD")).toMatchObject({ ok: false, code });
  });

  it("shortens long values quoted in messages", () => {
    const result = parseDecimalToMinor(`x${"9".repeat(500)}`, "USD");
    expect(result.ok).toBe(false);
    expect(result.ok === false && result.message).not.toContain("9".repeat(40));
  });
});

describe("formatMinor", () => {
  it.each([
    [1999, "USD", "19.99"],
    [5, "JPY", "5"],
    [1500, "KWD", "1.500"],
    [0, "USD", "0.00"],
    [0, "JPY", "0"],
    [7, "USD", "0.07"],
    [70, "USD", "0.70"],
    [1, "CLF", "0.0001"],
    [123456, "CLF", "12.3456"],
    [1, "BHD", "0.001"],
    [-1999, "USD", "-19.99"],
    [-5, "USD", "-0.05"],
    [Number.MAX_SAFE_INTEGER, "USD", "90071992547409.91"],
  ] as const)("formats %i %s as %j", (minor, currency, text) => {
    expect(formatMinor(minor, currency)).toBe(text);
  });

  it("throws for non-integer or unsafe amounts and unknown currencies", () => {
    expect(() => formatMinor(19.99, "USD")).toThrow(RangeError);
    expect(() => formatMinor(Number.NaN, "USD")).toThrow(RangeError);
    expect(() => formatMinor(Number.MAX_SAFE_INTEGER + 1, "USD")).toThrow(RangeError);
    expect(() => formatMinor(100, "XYZ")).toThrow(RangeError);
  });

  it("round-trips with parseDecimalToMinor for every digit count", () => {
    for (const currency of ["JPY", "USD", "KWD", "CLF"]) {
      for (const minor of [0, 1, 9, 10, 99, 100, 12345, 1_000_000, Number.MAX_SAFE_INTEGER]) {
        expect(parseDecimalToMinor(formatMinor(minor, currency), currency)).toEqual({ ok: true, minor });
      }
    }
  });
});
