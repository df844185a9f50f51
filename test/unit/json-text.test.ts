import { describe, expect, it } from "vitest";
import { nameCount, parseJsonText, repeatedNames } from "../../src/json-text.ts";

describe("parseJsonText", () => {
  it("parses JSON as JSON.parse does", () => {
    for (const text of ['{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}', "[]", '"x"', "null", ' { "a" : [ 1 , { } ] , "b" : { } } ']) {
      expect(parseJsonText(text)).toEqual({ ok: true, value: JSON.parse(text) });
    }
  });

  it("says why text is not JSON", () => {
    const parsed = parseJsonText('{"a":');
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.message).toMatch(/^is not valid JSON \(.+\)$/);
  });

  it.each([
    ['{"a":1,"a":2}', "a"],
    ['{"x":{"b":1,"c":2,"b":3}}', "b"],
    ['[{"a":1},{"k":1,"k":2}]', "k"],
    ['{"a":{},"a":1}', "a"],
    ['{"a":[{}],"b":{"c":[1,2]},"a":0}', "a"],
    ['{"\\u0061":1,"a":2}', "a"],
  ])("refuses a name given twice in one object: %s", (text, name) => {
    expect(parseJsonText(text)).toEqual({ ok: false, message: `gives the name ${JSON.stringify(name)} twice in one object; give it once` });
  });

  it("tells names from values and from what strings hold (quotes, braces, commas, escapes)", () => {
    for (const text of ['{"a":"a","b":"a"}', '{"a":"\\"a\\":{,","b":"}{[,"}', '{"a\\\\":1,"a":2}', '[{"a":1},{"a":2}]', '{"a":["a","a"]}', '{"a":{"a":{"a":1}}}']) {
      expect(parseJsonText(text), text).toEqual({ ok: true, value: JSON.parse(text) });
    }
  });
});

describe("nameCount and repeatedNames", () => {
  const text = '{"a":1,"s":"x:\\"y\\":{","o":{"b":1,"c":{"d":1}},"l":[{"e":1}],"a":2,"o":{"b":1,"b":2}}';

  it("count the names of objects up to a depth, whatever strings hold", () => {
    expect([1, 2, 3, Number.POSITIVE_INFINITY].map((depth) => nameCount(text, depth))).toEqual([6, 10, 12, 12]);
  });

  it("name each repeat with the member of the outermost object holding it, looking no deeper than asked", () => {
    expect(repeatedNames(text, 1)).toEqual([{ name: "a", within: null }, { name: "o", within: null }]);
    expect(repeatedNames(text, 2)).toEqual([{ name: "a", within: null }, { name: "o", within: null }, { name: "b", within: "o" }]);
    expect(repeatedNames('{"l":[{"e":1,"e":2}],"x":{"y":{"z":1,"z":2}}}')).toEqual([{ name: "e", within: "l" }, { name: "z", within: "x" }]);
    expect(repeatedNames('{"l":[{"e":1,"e":2}],"x":{"y":{"z":1,"z":2}}}', 2)).toEqual([]);
  });
});
