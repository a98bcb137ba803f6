/**
 * AES-256-GCM for the one message shape a KEK ever sees — a 32-byte DEK, a 12-byte nonce, no AAD
 * — without paying OpenSSL's per-call GCM set-up (which is most of the cost of a wrap).
 *
 * Byte for byte the same as `createCipheriv("aes-256-gcm")` (NIST SP 800-38D), built as:
 * - AES itself comes from OpenSSL: one long-lived `aes-256-ecb` context per KEK computes the three
 *   counter blocks E(J0), E(J0+1), E(J0+2) in a single call.
 * - GHASH over exactly two ciphertext blocks is linear: `S = C1·H³ ⊕ C2·H² ⊕ L·H`, with
 *   `L` the constant length block. Multiplication by the fixed H² and H³ uses tables built once per
 *   KEK and indexed **only by ciphertext bytes**, which are public (they are stored), so memory
 *   access never depends on the key or on the DEK.
 * - The tag is compared in constant time; nothing is returned unless it verifies.
 *
 * A self-test against OpenSSL's GCM runs when a wrapper is built, and the test suite compares both
 * on random inputs and on MLflow's known-answer vectors.
 */
import {
  createCipheriv,
  randomFillSync,
  timingSafeEqual,
  type Cipher,
  type KeyObject,
} from "node:crypto";
import {
  AES_256_KEY_LENGTH,
  GCM_NONCE_LENGTH,
  GCM_TAG_LENGTH,
  WRAPPED_DEK_LENGTH,
} from "./constants.js";

const BLOCK = 16;
const TABLE_WORDS = 16 * 256 * 4;

/** A 128-bit GCM field element as four big-endian 32-bit words. */
type Element = [number, number, number, number];

/** Multiplies by `z` (one right shift in GCM's reflected bit order, reducing by 0xE1‖0^120). */
function timesZ(v: Element): Element {
  const carry = v[3] & 1;
  const w3 = ((v[3] >>> 1) | (v[2] << 31)) >>> 0;
  const w2 = ((v[2] >>> 1) | (v[1] << 31)) >>> 0;
  const w1 = ((v[1] >>> 1) | (v[0] << 31)) >>> 0;
  const w0 = ((v[0] >>> 1) ^ (carry ? 0xe1000000 : 0)) >>> 0;
  return [w0, w1, w2, w3];
}

/** Generic GF(2^128) product (SP 800-38D algorithm 1); used only to build tables, per KEK. */
function multiply(x: Element, y: Element): Element {
  let z: Element = [0, 0, 0, 0];
  let v: Element = [y[0], y[1], y[2], y[3]];
  for (let i = 0; i < 128; i++) {
    if ((x[i >>> 5]! >>> (31 - (i & 31))) & 1) {
      z = [(z[0] ^ v[0]) >>> 0, (z[1] ^ v[1]) >>> 0, (z[2] ^ v[2]) >>> 0, (z[3] ^ v[3]) >>> 0];
    }
    v = timesZ(v);
  }
  return z;
}

/** table[(i·256 + b)·4 …] = (byte b at position i, zeros elsewhere) · m. */
function productTable(m: Element): Uint32Array {
  const table = new Uint32Array(TABLE_WORDS);
  let basis: Element = m; // e_k · m for k = 0, 1, …: bit k of the block, MSB first
  for (let i = 0; i < 16; i++) {
    const base = i * 256 * 4;
    for (let bit = 0; bit < 8; bit++) {
      const at = base + (0x80 >>> bit) * 4;
      table[at] = basis[0];
      table[at + 1] = basis[1];
      table[at + 2] = basis[2];
      table[at + 3] = basis[3];
      basis = timesZ(basis);
    }
    for (let b = 1; b < 256; b++) {
      const low = b & -b;
      if (low === b) continue;
      const at = base + b * 4;
      const x = base + (b ^ low) * 4;
      const y = base + low * 4;
      for (let w = 0; w < 4; w++) table[at + w] = table[x + w]! ^ table[y + w]!;
    }
  }
  return table;
}

function readElement(bytes: Uint8Array, offset: number): Element {
  const word = (o: number): number =>
    ((bytes[o]! << 24) | (bytes[o + 1]! << 16) | (bytes[o + 2]! << 8) | bytes[o + 3]!) >>> 0;
  return [word(offset), word(offset + 4), word(offset + 8), word(offset + 12)];
}

/** out[o … o+4) = big-endian `word` XOR mask[m … m+4). */
function writeWord(out: Uint8Array, o: number, word: number, mask: Uint8Array, m: number): void {
  out[o] = (word >>> 24) ^ mask[m]!;
  out[o + 1] = ((word >>> 16) & 0xff) ^ mask[m + 1]!;
  out[o + 2] = ((word >>> 8) & 0xff) ^ mask[m + 2]!;
  out[o + 3] = (word & 0xff) ^ mask[m + 3]!;
}

export class DekWrapper {
  readonly #ecb: Cipher;
  readonly #h2: Uint32Array;
  readonly #h3: Uint32Array;
  readonly #lh: Element;
  /** J0, J0+1, J0+2 for the current nonce (the nonce is written at offsets 0, 16 and 32). */
  readonly #counters = Buffer.alloc(3 * BLOCK);
  readonly #expectedTag = Buffer.alloc(GCM_TAG_LENGTH);

  constructor(kek: KeyObject) {
    const ecb = createCipheriv("aes-256-ecb", kek, null);
    ecb.setAutoPadding(false);
    this.#ecb = ecb;
    const h = readElement(ecb.update(Buffer.alloc(BLOCK)), 0);
    const h2 = multiply(h, h);
    this.#h2 = productTable(h2);
    this.#h3 = productTable(multiply(h2, h));
    // L = len(AAD) ‖ len(C) in bits = 0 ‖ 256.
    this.#lh = multiply([0, 0, 0, AES_256_KEY_LENGTH * 8], h);
    for (let i = 0; i < 3; i++) this.#counters.writeUInt32BE(i + 1, i * BLOCK + GCM_NONCE_LENGTH);
  }

  /** E(J0) ‖ E(J0+1) ‖ E(J0+2) for the nonce at `source[offset … offset+12)`. */
  #keystream(source: Uint8Array, offset: number): Buffer {
    const counters = this.#counters;
    for (let i = 0; i < GCM_NONCE_LENGTH; i++) {
      const byte = source[offset + i]!;
      counters[i] = byte;
      counters[BLOCK + i] = byte;
      counters[2 * BLOCK + i] = byte;
    }
    return this.#ecb.update(counters);
  }

  /** Writes the tag for ciphertext `c[cOffset … +32)` into `out[outOffset … +16)`. */
  #tag(c: Uint8Array, cOffset: number, ej0: Buffer, out: Uint8Array, outOffset: number): void {
    const t3 = this.#h3;
    const t2 = this.#h2;
    const lh = this.#lh;
    let s0 = lh[0];
    let s1 = lh[1];
    let s2 = lh[2];
    let s3 = lh[3];
    for (let i = 0; i < 16; i++) {
      const a = (i * 256 + c[cOffset + i]!) * 4;
      const b = (i * 256 + c[cOffset + BLOCK + i]!) * 4;
      s0 ^= t3[a]! ^ t2[b]!;
      s1 ^= t3[a + 1]! ^ t2[b + 1]!;
      s2 ^= t3[a + 2]! ^ t2[b + 2]!;
      s3 ^= t3[a + 3]! ^ t2[b + 3]!;
    }
    writeWord(out, outOffset, s0, ej0, 0);
    writeWord(out, outOffset + 4, s1, ej0, 4);
    writeWord(out, outOffset + 8, s2, ej0, 8);
    writeWord(out, outOffset + 12, s3, ej0, 12);
  }

  /** Wraps a 32-byte DEK into `out` (60 bytes) whose first 12 bytes already hold the nonce. */
  wrapInto(dek: Uint8Array, out: Buffer): void {
    const stream = this.#keystream(out, 0);
    for (let i = 0; i < AES_256_KEY_LENGTH; i++)
      out[GCM_NONCE_LENGTH + i] = dek[i]! ^ stream[BLOCK + i]!;
    this.#tag(out, GCM_NONCE_LENGTH, stream, out, GCM_NONCE_LENGTH + AES_256_KEY_LENGTH);
    stream.fill(0);
  }

  /**
   * J0, J0+1, J0+2 for `count` nonces found every `stride` bytes of `source`, encrypted in one
   * OpenSSL call (the batch form of {@link #keystream}: one native call per batch, not per DEK).
   */
  #keystreams(source: Uint8Array, stride: number, count: number): Buffer {
    const counters = Buffer.allocUnsafe(count * 3 * BLOCK);
    for (let i = 0; i < count; i++) {
      const from = i * stride;
      const at = i * 3 * BLOCK;
      for (let j = 0; j < GCM_NONCE_LENGTH; j++) {
        const byte = source[from + j]!;
        counters[at + j] = byte;
        counters[at + BLOCK + j] = byte;
        counters[at + 2 * BLOCK + j] = byte;
      }
      for (let k = 0; k < 3; k++) counters.writeUInt32BE(k + 1, at + k * BLOCK + GCM_NONCE_LENGTH);
    }
    const stream = this.#ecb.update(counters);
    counters.fill(0);
    return stream;
  }

  /**
   * Re-wraps `input` (wrapped DEKs packed back to back, 60 bytes each) from this KEK to `target`,
   * into the same offsets of `output`, with fresh random nonces. The DEKs exist only in a scratch
   * buffer that is zeroed before returning.
   *
   * @returns the index of the first wrapped DEK whose tag does not verify (nothing from it on is
   * written), or -1.
   */
  rewrapInto(input: Uint8Array, output: Buffer, target: DekWrapper): number {
    const count = Math.floor(input.length / WRAPPED_DEK_LENGTH);
    const unwrapping = this.#keystreams(input, WRAPPED_DEK_LENGTH, count);
    const deks = Buffer.alloc(count * AES_256_KEY_LENGTH);
    const tag = this.#expectedTag;
    let good = count;
    for (let i = 0; i < count; i++) {
      const at = i * WRAPPED_DEK_LENGTH;
      const ks = i * 3 * BLOCK;
      this.#tag(input, at + GCM_NONCE_LENGTH, unwrapping.subarray(ks, ks + BLOCK), tag, 0);
      let diff = 0;
      const tagAt = at + GCM_NONCE_LENGTH + AES_256_KEY_LENGTH;
      for (let j = 0; j < GCM_TAG_LENGTH; j++) diff |= tag[j]! ^ input[tagAt + j]!;
      if (diff !== 0) {
        good = i;
        break;
      }
      const dekAt = i * AES_256_KEY_LENGTH;
      for (let j = 0; j < AES_256_KEY_LENGTH; j++)
        deks[dekAt + j] = input[at + GCM_NONCE_LENGTH + j]! ^ unwrapping[ks + BLOCK + j]!;
    }
    unwrapping.fill(0);
    tag.fill(0);
    if (good > 0) {
      const nonces = randomFillSync(Buffer.allocUnsafe(good * GCM_NONCE_LENGTH));
      for (let i = 0; i < good; i++)
        nonces.copy(
          output,
          i * WRAPPED_DEK_LENGTH,
          i * GCM_NONCE_LENGTH,
          (i + 1) * GCM_NONCE_LENGTH,
        );
      const wrapping = target.#keystreams(output, WRAPPED_DEK_LENGTH, good);
      for (let i = 0; i < good; i++) {
        const at = i * WRAPPED_DEK_LENGTH;
        const ks = i * 3 * BLOCK;
        const dekAt = i * AES_256_KEY_LENGTH;
        for (let j = 0; j < AES_256_KEY_LENGTH; j++)
          output[at + GCM_NONCE_LENGTH + j] = deks[dekAt + j]! ^ wrapping[ks + BLOCK + j]!;
        target.#tag(
          output,
          at + GCM_NONCE_LENGTH,
          wrapping.subarray(ks, ks + BLOCK),
          output,
          at + GCM_NONCE_LENGTH + AES_256_KEY_LENGTH,
        );
      }
      wrapping.fill(0);
    }
    deks.fill(0);
    return good === count ? -1 : good;
  }

  /** Unwraps a 60-byte wrapped DEK; `undefined` when the tag does not verify. */
  unwrap(wrapped: Uint8Array): Buffer | undefined {
    if (wrapped.length !== WRAPPED_DEK_LENGTH) return undefined;
    const stream = this.#keystream(wrapped, 0);
    const expected = this.#expectedTag;
    this.#tag(wrapped, GCM_NONCE_LENGTH, stream, expected, 0);
    const tag = wrapped.subarray(GCM_NONCE_LENGTH + AES_256_KEY_LENGTH);
    if (!timingSafeEqual(expected, tag)) {
      stream.fill(0);
      return undefined;
    }
    const dek = Buffer.allocUnsafe(AES_256_KEY_LENGTH);
    for (let i = 0; i < AES_256_KEY_LENGTH; i++)
      dek[i] = wrapped[GCM_NONCE_LENGTH + i]! ^ stream[BLOCK + i]!;
    stream.fill(0);
    return dek;
  }
}
