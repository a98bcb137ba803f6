/** Object secrets serialise byte for byte as Python's json.dumps. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import fc from "fast-check";
import { pythonJsonDumps } from "../../src/index.js";
import { compareCodePoints } from "../../src/crypto/python-json.js";
import { hasPython, runPython } from "../helpers/python.js";

interface Case {
  input: unknown;
  sorted: string;
  unsorted: string;
}
const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/python-json-dumps.json", import.meta.url), "utf8"),
) as { cases: Case[] };

describe("pythonJsonDumps", () => {
  describe("matches outputs recorded from Python", () => {
    fixture.cases.forEach((c, i) => {
      it(`case ${i}: ${JSON.stringify(c.input).slice(0, 60)}`, () => {
        assert.equal(pythonJsonDumps(c.input, { sortKeys: true }), c.sorted);
        assert.equal(pythonJsonDumps(c.input), c.unsorted);
      });
    });
  });

  it("sorts keys by code point, not UTF-16 unit", () => {
    // U+FFFF sorts before U+1F600 in code points, after it in UTF-16 units (0xD83D).
    assert.ok(compareCodePoints("\uffff", "\u{1f600}") < 0);
    assert.ok("\uffff" > "\u{1f600}");
    assert.equal(
      pythonJsonDumps({ "\u{1f600}": 1, "\uffff": 2 }, { sortKeys: true }),
      '{"\\uffff": 2, "\\ud83d\\ude00": 1}',
    );
  });

  it("rejects what Python cannot serialise", () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const bad of [
      { a: undefined },
      { f: () => 1 },
      { d: new Date(0) },
      { s: Symbol("x") },
      circular,
    ]) {
      assert.throws(() => pythonJsonDumps(bad), { errorCode: "INVALID_PARAMETER_VALUE" });
    }
  });

  it("writes non-finite numbers as Python does", () => {
    assert.equal(pythonJsonDumps([NaN, Infinity, -Infinity]), "[NaN, Infinity, -Infinity]");
  });

  it(
    "matches live Python on random nested values",
    { skip: !hasPython && "python3 not found" },
    () => {
      const key = fc
        .string({ unit: "binary", maxLength: 8 })
        .filter((k) => !/^(0|[1-9]\d*)$/.test(k));
      const leaf = fc.oneof(
        fc.string({ unit: "binary", maxLength: 20 }),
        fc.string({ unit: "binary-ascii", maxLength: 20 }),
        fc.integer(),
        fc.maxSafeInteger(),
        fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
        fc.boolean(),
        fc.constant(null),
      );
      const { value } = fc.letrec((tie) => ({
        value: fc.oneof(
          { depthSize: "small", withCrossShrink: true },
          leaf,
          tie("array"),
          tie("object"),
        ),
        array: fc.array(tie("value"), { maxLength: 4 }),
        object: fc.dictionary(key, tie("value"), { maxKeys: 5, noNullPrototype: false }),
      }));
      const samples = fc.sample(fc.dictionary(key, value, { maxKeys: 6 }), 400);
      const output = runPython(
        [
          "import json, sys",
          "for line in sys.stdin:",
          "    v = json.loads(line)",
          "    print(json.dumps([json.dumps(v, sort_keys=True), json.dumps(v)]))",
        ].join("\n"),
        samples.map((s) => JSON.stringify(s)).join("\n") + "\n",
      );
      const expected = output
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as [string, string]);
      assert.equal(expected.length, samples.length);
      samples.forEach((sample, i) => {
        assert.equal(pythonJsonDumps(sample, { sortKeys: true }), expected[i]![0], `sample ${i}`);
        assert.equal(pythonJsonDumps(sample), expected[i]![1], `sample ${i} (insertion order)`);
      });
    },
  );
});
