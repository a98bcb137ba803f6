import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SecretInfoCache, secretInfoFromRow } from "../../src/store/secret-info.js";

const row = {
  secret_id: "s-1",
  secret_name: "openai",
  kek_version: 1,
  masked_value: '{"__proto__": "sk-...abcd", "api_key": "sk-...wxyz"}',
  provider: null,
  auth_config: '{"__proto__": {"polluted": true}, "api_base": "https://x"}',
  created_by: null,
  created_at: 1,
  last_updated_by: null,
  last_updated_at: 2,
  workspace: "default",
};

describe("SecretInfo from a stored row", () => {
  it("keeps a `__proto__` key in stored JSON as plain data, never as a prototype", () => {
    const info = secretInfoFromRow(row);
    assert.equal(Object.getPrototypeOf(info.authConfig), Object.prototype);
    assert.deepEqual(Object.keys(info.authConfig!), ["__proto__", "api_base"]);
    assert.equal((info.authConfig as Record<string, unknown>)["polluted"], undefined);
    assert.equal(Object.getPrototypeOf(info.maskedValues), Object.prototype);
    assert.deepEqual(Object.keys(info.maskedValues), ["__proto__", "api_key"]);
    assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
    assert.equal(
      JSON.stringify(info.authConfig),
      '{"__proto__":{"polluted":true},"api_base":"https://x"}',
    );
  });

  it("shows an unreadable mask column as MLflow does", () => {
    assert.deepEqual(secretInfoFromRow({ ...row, masked_value: "not json" }).maskedValues, {
      value: "***",
    });
  });

  it("reuses a frozen SecretInfo while the row is unchanged, and rebuilds it when it changes", () => {
    const cache = new SecretInfoCache(2);
    const first = cache.infoOf(row);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.authConfig));
    assert.equal(cache.infoOf({ ...row }), first);
    assert.equal(cache.atVersion("s-1", 1, 2), first);
    assert.equal(cache.atVersion("s-1", 2, 2), undefined);
    const changed = cache.infoOf({ ...row, last_updated_at: 3, provider: "openai" });
    assert.notEqual(changed, first);
    assert.equal(changed.provider, "openai");
  });
});
