// The cells the CSV error report and the failed-rows file write: formula-escaped (OWASP) and quoted for the file's
// own delimiter, so that a `;` file's appended problem cells stay four cells.
import { describe, expect, it } from "vitest";
import { csvCell } from "../../../src/imports/jobs/error-report.ts";

describe("csvCell", () => {
  it.each([
    ["=SUM(A1)", ",", "'=SUM(A1)"],
    ["+1", ";", "'+1"],
    ["-2", "\t", "'-2"],
    ["@cmd", ",", "'@cmd"],
    ["\tx", ",", "'\tx"],
    ["uses a comma, here", ",", '"uses a comma, here"'],
    ["uses a comma, here", ";", "uses a comma, here"],
    ["19,99; use a dot", ";", '"19,99; use a dot"'],
    ['a "quote"', ";", '"a ""quote"""'],
    ["line\nbreak", ";", '"line\nbreak"'],
  ])("%j with %j is %j", (value, delimiter, expected) => {
    expect(csvCell(value, delimiter)).toBe(expected);
  });

  it("leaves numbers as they are and writes null as an empty cell", () => {
    expect(csvCell(-5, ";")).toBe("-5");
    expect(csvCell(null)).toBe("");
  });
});
