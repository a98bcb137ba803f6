/** The profile writers: MLflow's bug fixed, other sections kept byte for byte, 0600, atomic. */
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  getDefaultHostCreds,
  overwriteOrCreateDatabricksProfile,
  readMlflowCreds,
} from "../../src/index.js";
import { writeMlflowCredentials } from "../../src/client/profiles.js";
import { parseIni } from "../../src/client/ini.js";
import { tempDir } from "./helpers.js";

function mode(path: string): number {
  return statSync(path).mode & 0o777;
}

describe("overwriteOrCreateDatabricksProfile", () => {
  it("writes MLflow's layout into a new file (test_mlflow_login's first four lines)", async () => {
    const file = join(tempDir(), ".databrickscfg");
    await overwriteOrCreateDatabricksProfile(
      file,
      {
        host: "https://community.cloud.databricks.com/",
        username: "weirdmouse@gmail.com",
        password: "pw-123",
      },
      "TEST",
    );
    const lines = readFileSync(file, "utf8").split(/(?<=\n)/);
    assert.equal(lines[0], "[TEST]\n");
    assert.equal(lines[1], "host = https://community.cloud.databricks.com/\n");
    assert.equal(lines[2], "username = weirdmouse@gmail.com\n");
    assert.equal(lines[3], "password = pw-123\n");
  });

  it("MLflow's bug case: no blank line before the next section — the next section survives intact", async () => {
    const file = join(tempDir(), ".databrickscfg");
    const prod = "[prod]\nhost = https://prod.cloud.databricks.com\ntoken = dapi-prod\n";
    writeFileSync(file, `[DEFAULT]\nhost = https://old\ntoken = dapi-old\n${prod}`);
    await overwriteOrCreateDatabricksProfile(file, { host: "https://new", token: "dapi-new" });
    const text = readFileSync(file, "utf8");
    assert.ok(text.includes(prod), "the next section's header and keys are kept");
    const doc = parseIni(text, file); // MLflow's output would re-parent prod's keys under DEFAULT
    assert.deepEqual(Object.fromEntries(doc.defaults), { host: "https://new", token: "dapi-new" });
    assert.deepEqual(Object.fromEntries(doc.sections.get("prod")!), {
      host: "https://prod.cloud.databricks.com",
      token: "dapi-prod",
    });
  });

  it("replaces a profile holding a blank line completely, and keeps comments byte for byte", async () => {
    const file = join(tempDir(), ".databrickscfg");
    const before = [
      "; my Databricks profiles",
      "",
      "[dev]",
      "host = https://dev",
      "",
      "token = dapi-dev-old",
      "",
      "# staging is shared with the data team",
      "[staging]",
      "# owner: ops",
      "host = https://staging",
      "token = dapi-staging",
      "",
    ].join("\n");
    writeFileSync(file, before);
    await overwriteOrCreateDatabricksProfile(
      file,
      { host: "https://dev", token: "dapi-dev-new" },
      "dev",
    );
    assert.equal(
      readFileSync(file, "utf8"),
      [
        "; my Databricks profiles",
        "",
        "[dev]",
        "host = https://dev",
        "token = dapi-dev-new",
        "",
        "# staging is shared with the data team",
        "[staging]",
        "# owner: ops",
        "host = https://staging",
        "token = dapi-staging",
        "",
      ].join("\n"),
    );
  });

  it("prepends a new profile, keeping the rest as it was", async () => {
    const file = join(tempDir(), ".databrickscfg");
    const before = "[DEFAULT]\nhost = https://d\ntoken = t\n";
    writeFileSync(file, before);
    await overwriteOrCreateDatabricksProfile(file, { host: "https://n", token: "dapi-n" }, "new");
    assert.equal(
      readFileSync(file, "utf8"),
      `[new]\nhost = https://n\ntoken = dapi-n\n\n${before}`,
    );
    const creds = await getDefaultHostCreds("databricks://new", {
      env: { HOME: tempDir(), DATABRICKS_CONFIG_FILE: file },
    });
    assert.equal(creds.token, "dapi-n");
  });

  it("writes mode 0600 (also over a world-readable file), creates the directory 0700, leaves no temp file", async () => {
    const dir = join(tempDir(), "nested", "dir");
    const file = join(dir, ".databrickscfg");
    await overwriteOrCreateDatabricksProfile(file, { host: "https://h", token: "t" });
    assert.equal(mode(file), 0o600);
    assert.equal(mode(dir), 0o700);
    chmodSync(file, 0o644);
    await overwriteOrCreateDatabricksProfile(file, { host: "https://h", token: "t2" });
    assert.equal(mode(file), 0o600);
    assert.deepEqual(readdirSync(dir), [".databrickscfg"]);
  });

  it("updates the target of a symbolic link instead of replacing the link", async () => {
    const dir = tempDir();
    const real = join(dir, "dotfiles-databrickscfg");
    writeFileSync(real, "[other]\nhost = https://o\ntoken = o\n");
    const link = join(dir, ".databrickscfg");
    symlinkSync(real, link);
    await overwriteOrCreateDatabricksProfile(link, { host: "https://h", token: "t" });
    assert.ok(readFileSync(real, "utf8").startsWith("[DEFAULT]\nhost = https://h\n"));
    assert.equal(readFileSync(link, "utf8"), readFileSync(real, "utf8"));
  });

  it("rejects values that could not be read back (line breaks, surrounding spaces) and bad names", async () => {
    const file = join(tempDir(), ".databrickscfg");
    await assert.rejects(
      overwriteOrCreateDatabricksProfile(file, { host: "https://h", token: "a\n[evil]" }),
      /cannot contain line breaks/,
    );
    await assert.rejects(
      overwriteOrCreateDatabricksProfile(file, { host: "https://h", token: " t" }),
      /leading\/trailing whitespace/,
    );
    await assert.rejects(
      overwriteOrCreateDatabricksProfile(file, { host: "https://h", token: "t" }, "a]b"),
      /profile name/,
    );
    await assert.rejects(
      overwriteOrCreateDatabricksProfile(file, { host: "https://h" }),
      /needs a token, a username and password, or an OAuth client ID and secret/,
    );
    assert.equal(existsSync(file), false);
  });
});

describe("writeMlflowCredentials", () => {
  it("writes [mlflow] that readMlflowCreds reads back, with % doubled for configparser", async () => {
    const home = tempDir();
    const path = join(home, ".mlflow", "credentials");
    await writeMlflowCredentials(path, { username: "alice", password: "100%-s3cret;#x" });
    assert.equal(
      readFileSync(path, "utf8"),
      "[mlflow]\nmlflow_tracking_username = alice\nmlflow_tracking_password = 100%%-s3cret;#x\n\n",
    );
    assert.equal(mode(path), 0o600);
    assert.equal(mode(join(home, ".mlflow")), 0o700);
    assert.deepEqual(await readMlflowCreds({ env: { HOME: home } }), {
      username: "alice",
      password: "100%-s3cret;#x",
    });
  });

  it("keeps every other section of the file", async () => {
    const home = tempDir();
    const path = join(home, ".mlflow", "credentials");
    await writeMlflowCredentials(path, { username: "a", password: "p1" });
    const withOther = `# team notes\n[other]\nkey = value\n${readFileSync(path, "utf8")}`;
    writeFileSync(path, withOther);
    await writeMlflowCredentials(path, { username: "b", password: "p2" });
    assert.equal(
      readFileSync(path, "utf8"),
      "# team notes\n[other]\nkey = value\n[mlflow]\nmlflow_tracking_username = b\nmlflow_tracking_password = p2\n\n",
    );
  });
});
