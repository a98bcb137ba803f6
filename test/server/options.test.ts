/** Server options and environment settings: validated once, frozen, with clear messages. */
import assert from "node:assert/strict";
import { readServerEnvSettings } from "../../src/config.js";
import { readServerSettings } from "../../src/cli/settings.js";
import { describe, it } from "node:test";
import {
  KekManager,
  Keyring,
  openSecretStore,
  resolveServerOptions,
  startupWarnings,
} from "../../src/index.js";
import { createPasswordHasher } from "../../src/domain/users/passwords.js";
import { isLoopbackHost } from "../../src/server/options.js";
import { DIALECTS } from "../helpers/databases.js";
import { withDatabase } from "../helpers/store.js";

describe("server options", () => {
  it("applies defaults, validates and freezes", () => {
    const options = resolveServerOptions({
      port: 8080,
      staticPrefix: "mlflow/",
      workers: undefined,
    });
    assert.equal(options.port, 8080);
    assert.equal(options.staticPrefix, "/mlflow");
    assert.equal(options.workers, 1);
    assert.equal(options.host, "127.0.0.1");
    assert.equal(options.bodyLimitBytes, 1024 * 1024);
    assert.deepEqual(options.passwordHashCost, { logN: 15, r: 8, p: 1 });
    assert.ok(Object.isFrozen(options) && Object.isFrozen(options.loginThrottle));
    assert.throws(
      () => resolveServerOptions({ port: 70000 }),
      /--port must be an integer between 0 and 65535/,
    );
    assert.throws(() => resolveServerOptions({ workers: 0 }), /--workers/);
    assert.throws(() => resolveServerOptions({ staticPrefix: "/a?b" }), /--static-prefix/);
    assert.throws(() => resolveServerOptions({ authCacheTtlMs: 120_000 }), /authCacheTtlMs/);
    assert.equal(resolveServerOptions({ staticPrefix: "/" }).staticPrefix, "");
  });

  it("reads the server's environment variables, naming the variable in errors", () => {
    assert.deepEqual(readServerSettings({}), {
      adminUsername: "admin",
      adminPassword: undefined,
      defaultPermission: "READ",
      usersCanCreate: false,
    });
    assert.deepEqual(
      readServerSettings({
        MLFLOW_SECRETS_ADMIN_USERNAME: "root",
        MLFLOW_SECRETS_ADMIN_PASSWORD: "a-long-password-1",
        MLFLOW_SECRETS_DEFAULT_PERMISSION: "no_permissions",
        MLFLOW_SECRETS_USERS_CAN_CREATE: "TRUE",
      }),
      {
        adminUsername: "root",
        adminPassword: "a-long-password-1",
        defaultPermission: "NO_PERMISSIONS",
        usersCanCreate: true,
      },
    );
    // config reads the text; the domain's rule applies it.
    assert.equal(
      readServerEnvSettings({ MLFLOW_SECRETS_DEFAULT_PERMISSION: "OWNER" }).defaultPermission,
      "OWNER",
    );
    assert.throws(() => readServerSettings({ MLFLOW_SECRETS_DEFAULT_PERMISSION: "OWNER" }), {
      errorCode: "INVALID_PARAMETER_VALUE",
      message:
        "MLFLOW_SECRETS_DEFAULT_PERMISSION must be one of NO_PERMISSIONS, READ, USE, EDIT, MANAGE, got 'OWNER'",
    });
    assert.throws(
      () => readServerSettings({ MLFLOW_SECRETS_USERS_CAN_CREATE: "2" }),
      /MLFLOW_SECRETS_USERS_CAN_CREATE must be one of 'true', 'false', '1' or '0'/,
    );
  });

  it("warns about the default KEK passphrase on a non-loopback address only", async () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]"])
      assert.ok(isLoopbackHost(host), host);
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "example.com"])
      assert.ok(!isLoopbackHost(host), host);
    const sqlite = DIALECTS.find((d) => d.name === "sqlite")!;
    await withDatabase(sqlite, async (db) => {
      const defaultKek = Keyring.of(await KekManager.create({ passphrase: "" }));
      const store = await openSecretStore({ uri: db.uri, keyring: defaultKek });
      try {
        assert.deepEqual(startupWarnings(store, resolveServerOptions({ host: "127.0.0.1" })), []);
        const [warning] = startupWarnings(store, resolveServerOptions({ host: "0.0.0.0" }));
        assert.match(warning!, /default KEK passphrase is in use while listening on 0\.0\.0\.0/);
      } finally {
        await store.close();
      }
    });
  });

  it("hashes passwords with scrypt, a salt per password and the cost in the stored form", async () => {
    const hasher = createPasswordHasher({ logN: 4, r: 8, p: 1 });
    const a = await hasher.hash("correct horse battery");
    const b = await hasher.hash("correct horse battery");
    assert.match(a, /^scrypt\$4\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    assert.notEqual(a, b);
    assert.ok(await hasher.verify("correct horse battery", a));
    assert.ok(!(await hasher.verify("correct horse batterY", a)));
    // A hash made at another cost verifies (the cost travels with it); a tampered one does not.
    assert.ok(
      await createPasswordHasher({ logN: 5, r: 8, p: 1 }).verify("correct horse battery", a),
    );
    assert.ok(
      !(await hasher.verify("correct horse battery", a.replace("scrypt$4$", "scrypt$30$"))),
    );
    assert.ok(!(await hasher.verify("x", "not a hash")));
    assert.equal(await hasher.verifyNothing("x"), false);
  });
});
