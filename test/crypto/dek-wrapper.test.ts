/** The DEK fast path is byte-identical to OpenSSL's AES-256-GCM and rejects every forgery. */
import assert from "node:assert/strict";
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DekWrapper } from "../../src/crypto/dek-wrapper.js";

function opensslWrap(kek: Buffer, nonce: Buffer, dek: Buffer): Buffer {
  const cipher = createCipheriv("aes-256-gcm", kek, nonce);
  return Buffer.concat([nonce, cipher.update(dek), cipher.final(), cipher.getAuthTag()]);
}

function opensslUnwrap(kek: Buffer, wrapped: Buffer): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", kek, wrapped.subarray(0, 12));
  decipher.setAuthTag(wrapped.subarray(44));
  return Buffer.concat([decipher.update(wrapped.subarray(12, 44)), decipher.final()]);
}

const bytes = (n: number) =>
  fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));

describe("DekWrapper (AES-256-GCM for 32-byte DEKs)", () => {
  it("produces OpenSSL's bytes for random KEKs, nonces and DEKs, and opens OpenSSL's output", () => {
    fc.assert(
      fc.property(bytes(32), bytes(12), bytes(32), (kek, nonce, dek) => {
        const wrapper = new DekWrapper(createSecretKey(kek));
        const out = Buffer.alloc(60);
        nonce.copy(out);
        wrapper.wrapInto(dek, out);
        const expected = opensslWrap(kek, nonce, dek);
        assert.ok(out.equals(expected), `${out.toString("hex")} != ${expected.toString("hex")}`);
        assert.ok(opensslUnwrap(kek, out).equals(dek));
        assert.ok(wrapper.unwrap(expected)?.equals(dek));
      }),
      { numRuns: 200 },
    );
  });

  it("handles edge blocks: all-zero and all-ones KEKs, nonces and DEKs", () => {
    for (const fill of [0x00, 0xff, 0x80, 0x01]) {
      const kek = Buffer.alloc(32, fill);
      const wrapper = new DekWrapper(createSecretKey(kek));
      for (const dekFill of [0x00, 0xff]) {
        const nonce = Buffer.alloc(12, fill ^ 0xff);
        const dek = Buffer.alloc(32, dekFill);
        const out = Buffer.alloc(60);
        nonce.copy(out);
        wrapper.wrapInto(dek, out);
        assert.ok(out.equals(opensslWrap(kek, nonce, dek)));
      }
    }
  });

  it("keeps working across many calls on one long-lived wrapper", () => {
    const kek = randomBytes(32);
    const wrapper = new DekWrapper(createSecretKey(kek));
    for (let i = 0; i < 5000; i++) {
      const nonce = randomBytes(12);
      const dek = randomBytes(32);
      const out = Buffer.alloc(60);
      nonce.copy(out);
      wrapper.wrapInto(dek, out);
      assert.ok(out.equals(opensslWrap(kek, nonce, dek)));
      assert.ok(wrapper.unwrap(out)?.equals(dek));
    }
  });

  it("rejects every single-bit flip, a wrong KEK, and wrong lengths", () => {
    const kek = randomBytes(32);
    const wrapper = new DekWrapper(createSecretKey(kek));
    const wrapped = opensslWrap(kek, randomBytes(12), randomBytes(32));
    for (let bit = 0; bit < 480; bit++) {
      const copy = Buffer.from(wrapped);
      copy[bit >> 3]! ^= 1 << (bit & 7);
      assert.equal(wrapper.unwrap(copy), undefined, `bit ${bit} not detected`);
    }
    assert.equal(new DekWrapper(createSecretKey(randomBytes(32))).unwrap(wrapped), undefined);
    assert.equal(wrapper.unwrap(wrapped.subarray(0, 59)), undefined);
    assert.equal(wrapper.unwrap(Buffer.concat([wrapped, Buffer.alloc(1)])), undefined);
  });
});
