/** Batch re-wrapping (inline and in the worker thread) against OpenSSL's AES-GCM. */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { generateDek, unwrapDek, wrapDek } from "../../src/index.js";
import { kekManagerFromKeyBytes, rewrapPackedDeks } from "../../src/crypto/internal.js";
import { inlineRewrapper, workerRewrapper } from "../../src/rotation/rewrap.js";
import { kek } from "./helpers.js";

async function packed(count: number): Promise<{ deks: Buffer[]; input: Buffer }> {
  const oldKey = (await kek(1)).getKek();
  const deks = Array.from({ length: count }, () => generateDek());
  return { deks, input: Buffer.concat(deks.map((dek) => wrapDek(dek, oldKey))) };
}

describe("re-wrapping packed DEKs", () => {
  it("re-wraps every DEK so that OpenSSL unwraps it with the new KEK, with fresh nonces", async () => {
    const { deks, input } = await packed(300);
    const output = Buffer.alloc(input.length);
    assert.equal(rewrapPackedDeks(input, output, await kek(1), await kek(2)), -1);
    const newKey = (await kek(2)).getKek();
    const nonces = new Set<string>();
    deks.forEach((dek, i) => {
      const wrapped = output.subarray(i * 60, (i + 1) * 60);
      assert.ok(unwrapDek(wrapped, newKey).equals(dek), `DEK ${i}`);
      nonces.add(wrapped.subarray(0, 12).toString("hex"));
    });
    assert.equal(nonces.size, deks.length);
  });

  it("stops at the first DEK the old KEK does not unwrap", async () => {
    const { input } = await packed(10);
    input[7 * 60 + 30] = input[7 * 60 + 30]! ^ 1;
    assert.equal(rewrapPackedDeks(input, Buffer.alloc(600), await kek(1), await kek(2)), 7);
    assert.equal(
      rewrapPackedDeks(input, Buffer.alloc(600), await kek(3), await kek(2)),
      0,
      "wrong old KEK",
    );
  });

  it("a KEK rebuilt from its bytes (as the worker does) is the same KEK", async () => {
    const original = await kek(1);
    const rebuilt = kekManagerFromKeyBytes(original.getKek(), 1);
    assert.equal(rebuilt.kekVersion, 1);
    assert.ok(rebuilt.getKek().equals(original.getKek()));
    assert.throws(() => kekManagerFromKeyBytes(randomBytes(16), 1), /32 bytes/);
    assert.ok(!JSON.stringify(rebuilt).includes(original.getKek().toString("hex")));
  });

  for (const [name, make] of [
    ["inline", inlineRewrapper],
    ["worker thread", workerRewrapper],
  ] as const) {
    it(`${name}: several batches in flight come back in order, inputs returned`, async () => {
      const rewrapper = make(await kek(1), await kek(2));
      try {
        const batches = await Promise.all([packed(50), packed(1), packed(200)]);
        batches[1].input[59] = batches[1].input[59]! ^ 1;
        const copies = batches.map((b) => Buffer.from(b.input));
        const results = await Promise.all(batches.map((b) => rewrapper.rewrap(b.input)));
        const newKey = (await kek(2)).getKek();
        assert.deepEqual(
          results.map((r) => r.failedAt),
          [-1, 0, -1],
        );
        results.forEach((result, b) => {
          assert.ok(result.input.equals(copies[b]!));
          if (result.failedAt >= 0) return;
          batches[b]!.deks.forEach((dek, i) =>
            assert.ok(unwrapDek(result.output.subarray(i * 60, (i + 1) * 60), newKey).equals(dek)),
          );
        });
      } finally {
        await rewrapper.close();
      }
    });
  }
});
