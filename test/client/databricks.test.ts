/** Databricks tracking URIs: parsing, the environment first, then a profile of ~/.databrickscfg. */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getDefaultHostCreds } from "../../src/index.js";
import { resolveHostCreds } from "../../src/client/creds.js";
import { parseDatabricksUri } from "../../src/client/databricks.js";
import { tempDir } from "./helpers.js";

function configFile(content: string): { home: string; path: string } {
  const home = tempDir("dbx-");
  const path = join(home, ".databrickscfg");
  writeFileSync(path, content);
  return { home, path };
}

const CFG = [
  "[DEFAULT]",
  "host = https://default.cloud.databricks.com",
  "token = dapi-default",
  "",
  "[staging]",
  "host = staging.cloud.databricks.com",
  "token = dapi-staging",
  "[community]",
  "host = https://community.cloud.databricks.com/",
  "username = alice@example.com",
  "password = pw",
  "insecure = True",
  "[partial]",
  "token = dapi-no-host",
  "[oauth]",
  "host = https://oauth.cloud.databricks.com",
  "client_id = abc",
  "client_secret = def",
  "",
].join("\n");

describe("Databricks URIs", () => {
  it("parses databricks and databricks://profile; rejects scope:prefix and malformed ones", () => {
    assert.deepEqual(parseDatabricksUri("databricks"), { profile: undefined });
    assert.deepEqual(parseDatabricksUri("databricks://staging"), { profile: "staging" });
    assert.deepEqual(parseDatabricksUri("databricks://staging/"), { profile: "staging" });
    assert.throws(
      () => parseDatabricksUri("databricks://scope:prefix"),
      /only work inside a Databricks runtime/,
    );
    assert.throws(() => parseDatabricksUri("databricks:/x"), /URI is formatted incorrectly/);
    assert.throws(() => parseDatabricksUri("databricks://"), /URI is formatted incorrectly/);
  });

  it("uses the DEFAULT profile for 'databricks' (token → Bearer)", async () => {
    const { home, path } = configFile(CFG);
    const resolved = await resolveHostCreds("databricks", { env: { HOME: home } });
    assert.equal(resolved.kind, "databricks");
    assert.equal(resolved.creds.host, "https://default.cloud.databricks.com");
    assert.equal(resolved.creds.token, "dapi-default");
    assert.equal(resolved.sources.token, `${path} [DEFAULT] token`);
  });

  it("uses the URI's profile, else DATABRICKS_CONFIG_PROFILE; a bare hostname gets https://", async () => {
    const { home } = configFile(CFG);
    const fromUri = await getDefaultHostCreds("databricks://staging", { env: { HOME: home } });
    assert.equal(fromUri.host, "https://staging.cloud.databricks.com");
    assert.equal(fromUri.token, "dapi-staging");
    const fromVar = await getDefaultHostCreds("databricks", {
      env: { HOME: home, DATABRICKS_CONFIG_PROFILE: "staging" },
    });
    assert.equal(fromVar.token, "dapi-staging");
  });

  it("username and password → Basic; 'insecure' is parsed as a boolean (MLflow treats 'false' as true)", async () => {
    const { home } = configFile(CFG);
    const creds = await getDefaultHostCreds("databricks://community", { env: { HOME: home } });
    assert.equal(creds.username, "alice@example.com");
    assert.equal(creds.password, "pw");
    assert.equal(creds.token, undefined);
    assert.equal(creds.ignoreTlsVerification, true);
    const { home: home2 } = configFile(
      "[DEFAULT]\nhost = https://h\ntoken = t\ninsecure = false\n",
    );
    assert.equal(
      (await getDefaultHostCreds("databricks", { env: { HOME: home2 } })).ignoreTlsVerification,
      false,
    );
    const { home: home3 } = configFile(
      "[DEFAULT]\nhost = https://h\ntoken = t\ninsecure = maybe\n",
    );
    await assert.rejects(
      getDefaultHostCreds("databricks", { env: { HOME: home3 } }),
      /\[DEFAULT\] insecure must be one of/,
    );
  });

  it("complete DATABRICKS_* variables come first, even with a profile in the URI", async () => {
    const { home } = configFile(CFG);
    const env = {
      HOME: home,
      DATABRICKS_HOST: "https://env.cloud.databricks.com",
      DATABRICKS_TOKEN: "dapi-env",
    };
    for (const uri of ["databricks", "databricks://staging"]) {
      const resolved = await resolveHostCreds(uri, { env });
      assert.equal(resolved.creds.token, "dapi-env");
      assert.deepEqual(resolved.sources, { host: "DATABRICKS_HOST", token: "DATABRICKS_TOKEN" });
    }
    const basic = await getDefaultHostCreds("databricks", {
      env: {
        HOME: home,
        DATABRICKS_HOST: "https://e",
        DATABRICKS_USERNAME: "u",
        DATABRICKS_PASSWORD: "p",
        DATABRICKS_INSECURE: "1",
      },
    });
    assert.deepEqual(
      [basic.username, basic.password, basic.ignoreTlsVerification],
      ["u", "p", true],
    );
  });

  it("incomplete variables fall through to the profile", async () => {
    const { home } = configFile(CFG);
    const creds = await getDefaultHostCreds("databricks", {
      env: { HOME: home, DATABRICKS_HOST: "https://only-host" },
    });
    assert.equal(creds.token, "dapi-default");
  });

  it("reads DATABRICKS_CONFIG_FILE; a profile does not inherit [DEFAULT] values", async () => {
    const { path } = configFile(CFG);
    await assert.rejects(
      getDefaultHostCreds("databricks://partial", {
        env: { HOME: tempDir(), DATABRICKS_CONFIG_FILE: path },
      }),
      /No valid Databricks credentials for tracking URI 'databricks:\/\/partial': profile 'partial' lacks a host/,
    );
  });

  it("explains missing files and profiles", async () => {
    const home = tempDir();
    await assert.rejects(
      getDefaultHostCreds("databricks", { env: { HOME: home } }),
      /\.databrickscfg does not exist and the DATABRICKS_\* variables are incomplete\. Set DATABRICKS_HOST and DATABRICKS_TOKEN/,
    );
    const { home: withFile } = configFile(CFG);
    await assert.rejects(
      getDefaultHostCreds("databricks://nope", { env: { HOME: withFile } }),
      /profile 'nope' is not in/,
    );
  });

  it("refuses a plain-http Databricks host (the token would travel in clear text)", async () => {
    const { home } = configFile("[DEFAULT]\nhost = http://insecure.example.com\ntoken = t\n");
    await assert.rejects(
      getDefaultHostCreds("databricks", { env: { HOME: home } }),
      /must start with https:\/\//,
    );
  });
});
