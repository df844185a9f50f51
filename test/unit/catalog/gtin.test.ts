import { describe, expect, it } from "vitest";
import { checkGtin, gtinCheckDigit } from "../../../src/catalog/gtin.ts";

describe("checkGtin", () => {
  it.each([
    ["96385074", "GTIN-8 (EAN-8)"],
    ["40170725", "GTIN-8 (EAN-8)"],
    ["036000291452", "GTIN-12 (UPC-A)"],
    ["012345678905", "GTIN-12 (UPC-A)"],
    ["4006381333931", "GTIN-13 (EAN-13)"],
    ["5901234123457", "GTIN-13 (EAN-13)"],
    ["0036000291452", "GTIN-13 with a leading zero"],
    ["10614141000415", "GTIN-14"],
    ["00012345600012", "GTIN-14"],
  ])("accepts %s, a valid %s", (value) => {
    expect(checkGtin(value)).toEqual({ ok: true, gtin: value });
  });

  it("ignores surrounding whitespace", () => {
    expect(checkGtin("  4006381333931 ")).toEqual({ ok: true, gtin: "4006381333931" });
  });

  it.each(["4006381333932", "4006381333930", "036000291453", "96385075", "10614141000416"])(
    "rejects %s with invalid_check_digit",
    (value) => {
      expect(checkGtin(value)).toMatchObject({ ok: false, code: "invalid_check_digit" });
    },
  );

  it("says which check digit was expected", () => {
    const result = checkGtin("4006381333932");
    expect(result.ok === false && result.message).toBe(
      'The barcode "4006381333932" has an invalid check digit (the last digit should be 1); check it for typos.',
    );
  });

  it.each(["1234567", "123456789", "1234567890", "12345678901", "123456789012345", "1"])(
    "rejects %s with invalid_length",
    (value) => {
      const result = checkGtin(value);
      expect(result).toMatchObject({ ok: false, code: "invalid_length" });
      expect(result.ok === false && result.message).toContain(`has ${value.length} digits`);
    },
  );

  it.each(["4006381-333931", "40063813339 31", "ABCDEFGH", "4006381333931a", "4006381333931.0", "-4006381333931", "４００６３８１３３３９３１"])(
    "rejects %j with invalid_characters",
    (value) => {
      expect(checkGtin(value)).toMatchObject({ ok: false, code: "invalid_characters" });
    },
  );

  it.each(["3.65275E+11", "3,65275E+11", "4.00638E+12", "4,00638e+12", "1E+13", "9.6385074E7"])(
    "recognises the spreadsheet-mangled %s",
    (value) => {
      const result = checkGtin(value);
      expect(result).toMatchObject({ ok: false, code: "scientific_notation" });
      expect(result.ok === false && result.message).toContain(
        "looks like a number a spreadsheet reformatted in scientific notation; format the column as text",
      );
    },
  );

  it("rejects an empty value", () => {
    expect(checkGtin("")).toMatchObject({ ok: false, code: "required" });
    expect(checkGtin("   ")).toMatchObject({ ok: false, code: "required" });
  });
});

describe("gtinCheckDigit", () => {
  it("computes the GS1 mod-10 check digit", () => {
    expect(gtinCheckDigit("400638133393")).toBe(1);
    expect(gtinCheckDigit("03600029145")).toBe(2);
    expect(gtinCheckDigit("9638507")).toBe(4);
    expect(gtinCheckDigit("1061414100041")).toBe(5);
  });

  it("is unaffected by leading zeros", () => {
    expect(gtinCheckDigit("003600029145")).toBe(gtinCheckDigit("03600029145"));
    expect(gtinCheckDigit("0000009638507")).toBe(gtinCheckDigit("9638507"));
  });

  it("yields 0 when the weighted sum is a multiple of ten", () => {
    expect(gtinCheckDigit("0000000")).toBe(0);
    expect(checkGtin("00000000")).toEqual({ ok: true, gtin: "00000000" });
  });
});
