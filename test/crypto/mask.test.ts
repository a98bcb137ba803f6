/** Masks count code points, as Python does, and never reveal more than MLflow's. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { maskSecretValue, maskSecretValues } from "../../src/index.js";

describe("masking", () => {
  it("follows MLflow's string rules", () => {
    assert.equal(maskSecretValue("sk-proj-1234567890abcdef"), "sk-...cdef");
    assert.equal(maskSecretValue("ghu_1234567890abcdef"), "ghu_...cdef");
    assert.equal(maskSecretValue("api-key-abc123def456"), "api...f456");
    for (const short of ["", "abc", "short", "1234567"])
      assert.equal(maskSecretValue(short), "***");
    for (const other of [12345678, null, undefined, true, ["a", "b"], new Date(0)]) {
      assert.equal(maskSecretValue(other), "***");
    }
  });

  it("counts code points, never splitting a surrogate pair", () => {
    // 7 code points but 14 UTF-16 units: still too short to mask.
    assert.equal(maskSecretValue("🔐🔐🔐🔐🔐🔐🔐"), "***");
    // U+1F5DD U+FE0F: the variation selector is a code point of its own (values from Python).
    assert.equal(maskSecretValue("🔐🔑🗝️abcd😀"), "🔐🔑🗝...bcd😀");
    const masked = maskSecretValue("😀😁😂🤣abcdefgh😃😄😅😆");
    assert.equal(masked, "😀😁😂...😃😄😅😆");
  });

  it("summarises objects, cutting a summary over 95 characters to 92 + '...>' (as Python)", () => {
    assert.equal(maskSecretValue({ a: 1 }), "<dict: 1 key (a)>");
    const long = maskSecretValue({ ["k".repeat(200)]: "v", b: "v" });
    assert.equal(Array.from(long).length, 96);
    assert.ok(long.startsWith("<dict: 2 keys (kkk") && long.endsWith("...>"));
    const astral = maskSecretValue({ ["😀".repeat(100)]: "v" });
    assert.equal(astral, `<dict: 1 key (${"😀".repeat(78)}...>`);
  });

  it("masks each value of a secret map, keeping odd keys as plain properties", () => {
    const values = JSON.parse(
      '{"api_key": "sk-proj-1234567890abcdef", "org": "acme", "__proto__": "sk-1234567890"}',
    ) as Record<string, string>;
    const masked = maskSecretValues(values);
    assert.deepEqual(Object.keys(masked), ["api_key", "org", "__proto__"]);
    assert.equal(masked.api_key, "sk-...cdef");
    assert.equal(masked.org, "***");
    assert.equal(Object.getOwnPropertyDescriptor(masked, "__proto__")?.value, "sk-...7890");
    assert.equal(Object.getPrototypeOf(masked), Object.prototype);
    assert.deepEqual(maskSecretValues({}), {});
  });
});
