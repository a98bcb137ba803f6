/** The error family: one constructor order, closed reasons, and a README that lists them all. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  ERROR_CODES,
  ERROR_REASONS,
  MlflowSecretsError,
  RestError,
  httpStatusForErrorCode,
} from "../src/errors.js";
import { KekManager, Keyring, decryptSecret, encryptSecret } from "../src/index.js";

/** The first-column names of the tables in the README's "## Errors" section. */
function readmeTables(): string[][] {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const section = readme.split(/^## Errors\n/m)[1]!.split(/^## /m)[0]!;
  const tables: string[][] = [];
  let current: string[] | undefined;
  for (const line of section.split("\n")) {
    const name = /^\| `([A-Z_]+)`/.exec(line)?.[1];
    if (line.startsWith("|") && /^\| `[a-zA-Z]+`\s+\|/.test(line) && name === undefined) {
      current = [];
      tables.push(current);
    } else if (name !== undefined) current?.push(name);
  }
  return tables;
}

describe("errors", () => {
  it("the README lists exactly the codes and reasons the code has, with each code's status", () => {
    const [codes, reasons] = readmeTables();
    assert.deepEqual([...codes!].sort(), [...ERROR_CODES].sort());
    assert.deepEqual([...reasons!].sort(), [...ERROR_REASONS].sort());
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    for (const code of ERROR_CODES) {
      const row = new RegExp(`^\\| \`${code}\`\\s+\\| (\\d{3})`, "m").exec(readme);
      assert.equal(Number(row?.[1]), httpStatusForErrorCode(code), code);
    }
  });

  it("takes (message, errorCode, options) everywhere and carries a reason", () => {
    const cause = new Error("driver said no");
    const err = new MlflowSecretsError("no KEK", "INVALID_STATE", {
      cause,
      reason: "KEK_VERSION_MISSING",
    });
    assert.equal(err.message, "no KEK");
    assert.equal(err.errorCode, "INVALID_STATE");
    assert.equal(err.reason, "KEK_VERSION_MISSING");
    assert.equal(err.cause, cause);
    const rest = new RestError("gone", "RESOURCE_DOES_NOT_EXIST", 404);
    assert.equal(rest.message, "gone");
    assert.equal(rest.errorCode, "RESOURCE_DOES_NOT_EXIST");
    assert.equal(rest.httpStatus, 404);
    assert.equal(rest.reason, undefined);
  });

  it("sets the reason where the package knows what went wrong, so callers never parse messages", async () => {
    const [a, b, a2] = await Promise.all([
      KekManager.create({ passphrase: "one", kekVersion: 1 }),
      KekManager.create({ passphrase: "two", kekVersion: 1 }),
      KekManager.create({ passphrase: "one", kekVersion: 2 }),
    ]);
    const sealed = encryptSecret("sk-123456789", a, "s-1", "name");
    assert.throws(() => decryptSecret(sealed.encryptedValue, sealed.wrappedDek, b, "s-1", "name"), {
      reason: "DECRYPT_FAILED",
    });
    assert.throws(
      () => decryptSecret(sealed.encryptedValue, sealed.wrappedDek, a, "s-1", "other"),
      {
        reason: "DECRYPT_FAILED",
      },
    );
    assert.throws(() => Keyring.of(a, [b]), { reason: "KEYRING_CONFLICT" });
    assert.doesNotThrow(() => Keyring.of(a, [a2]));
  });
});
