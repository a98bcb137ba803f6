/**
 * Robustness: whatever arrives — malformed JSON, wrong types, huge or deeply nested bodies,
 * `__proto__` keys, invalid UTF-8, odd headers and paths — the answer is a 4xx error in MLflow's
 * shape (or a success), never a 500, and the server keeps serving.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { DIALECTS } from "../helpers/databases.js";
import { ADMIN_AUTH, SECRETS, withServer } from "../helpers/server.js";

const ENDPOINTS: readonly [string, string][] = [
  ["POST", `${SECRETS}/create`],
  ["POST", `${SECRETS}/update`],
  ["PATCH", `${SECRETS}/update`],
  ["DELETE", `${SECRETS}/delete`],
  ["POST", `${SECRETS}/value`],
  ["GET", `${SECRETS}/get`],
  ["GET", `${SECRETS}/list`],
  ["POST", `${SECRETS}/permissions/create`],
  ["PATCH", `${SECRETS}/permissions/update`],
  ["DELETE", `${SECRETS}/permissions/delete`],
  ["POST", "/api/2.0/mlflow/users/create"],
  ["PATCH", "/api/2.0/mlflow/users/update-password"],
  ["PATCH", "/api/2.0/mlflow/users/update-admin"],
  ["DELETE", "/api/2.0/mlflow/users/delete"],
  ["POST", "/api/3.0/mlflow-secrets/tokens/create"],
  ["DELETE", "/api/3.0/mlflow-secrets/tokens/revoke"],
  ["GET", "/api/3.0/mlflow-secrets/audit/list"],
];

const FIELDS = [
  "secret_name",
  "secret_value",
  "secret_id",
  "provider",
  "auth_config",
  "auth_config_json",
  "username",
  "password",
  "is_admin",
  "permission",
  "name",
  "token_id",
  "max_results",
  "page_token",
  "__proto__",
  "constructor",
  "prototype",
];

const key = fc.oneof(fc.constantFrom(...FIELDS), fc.string({ maxLength: 8 }));
const leaf = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom("", "s-0123", "READ", "MANAGE", "{}", '{"__proto__": {"x": 1}}', "a".repeat(300)),
);
const { value: jsonValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, leaf, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 4 }),
  object: fc.dictionary(key, tie("value"), { maxKeys: 5 }),
}));

/** A body as text: JSON (maybe with prototype keys spliced in), broken JSON, or raw bytes. */
const body = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v) ?? "null"),
  fc
    .dictionary(key, jsonValue, { maxKeys: 6 })
    .map((o) => JSON.stringify(o).replace(/^\{/, '{"__proto__": {"polluted": true}, ')),
  fc.string({ maxLength: 60 }),
  fc.uint8Array({ maxLength: 60 }).map((bytes) => Buffer.from(bytes)),
  fc.integer({ min: 1, max: 5000 }).map((n) => "[".repeat(n) + "]".repeat(n)),
  fc
    .integer({ min: 1, max: 500 })
    .map(
      (n) =>
        '{"secret_name": "deep", "auth_config": ' + '{"a": '.repeat(n) + "1" + "}".repeat(n + 1),
    ),
  fc.constantFrom(
    Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), // {"\xff\xfe":1}
    Buffer.from('{"secret_name": "utf8-\xc3\x28", "secret_value": {"k": "v"}}', "latin1"),
    '{"secret_name": "x", "secret_value": {"__proto__": "v"}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    "\u0000\u0001",
    "",
  ),
);

const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "application/vnd.api+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "",
);

const queryValue = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom("%", "%zz", "0", "-1", "99999999999", "__proto__"),
);

/** A status below 500 and, for errors with a body, MLflow's `{error_code, message}`. */
function checkReply(reply: { status: number; text: string }): void {
  assert.ok(reply.status < 500, `status ${reply.status}: ${reply.text}`);
  if (reply.status >= 400 && reply.text !== "") {
    const parsed = JSON.parse(reply.text) as { error_code?: unknown; message?: unknown };
    assert.equal(typeof parsed.error_code, "string", reply.text);
    assert.equal(typeof parsed.message, "string", reply.text);
  }
}

for (const dialect of DIALECTS) {
  // The input space is the same everywhere; fewer runs where each request costs a round trip.
  const numRuns = dialect.name === "sqlite" ? 400 : 120;
  describe(`robustness on ${dialect.name}`, () => {
    it("never answers 500 to malformed, mistyped, huge, deep or poisoned requests", () =>
      withServer(dialect, async (server) => {
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(...ENDPOINTS),
            body,
            contentType,
            fc.dictionary(
              fc.constantFrom(
                "secret_id",
                "secret_name",
                "username",
                "max_results",
                "page_token",
                "since",
                "__proto__",
              ),
              queryValue,
              { maxKeys: 3 },
            ),
            fc.option(fc.string({ maxLength: 70 }), { nil: undefined }),
            async ([method, url], payload, type, query, workspace) => {
              const headers: Record<string, string> = {};
              if (type !== "") headers["content-type"] = type;
              if (workspace !== undefined)
                headers["x-mlflow-workspace"] = workspace.replace(/[^\x20-\x7e]/g, "");
              const reply = await server.call(method, url, {
                auth: ADMIN_AUTH,
                raw: method === "GET" ? "" : payload,
                query,
                headers,
              });
              checkReply(reply);
            },
          ),
          { numRuns },
        );
        // Nothing was polluted, and the server still works.
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
        assert.equal((await server.call("GET", "/health")).text, "OK");
        const list = await server.call("GET", `${SECRETS}/list`, { auth: ADMIN_AUTH });
        assert.equal(list.status, 200);
      }));

    it("answers specific hostile bodies with the right 4xx", () =>
      withServer(dialect, async ({ call }) => {
        const send = (raw: string | Buffer, type = "application/json") =>
          call<{ error_code: string; message: string }>("POST", `${SECRETS}/create`, {
            auth: ADMIN_AUTH,
            raw,
            headers: { "content-type": type },
          });
        const expect = async (
          reply: ReturnType<typeof send>,
          status: number,
          code: string,
          message: RegExp,
        ) => {
          const done = await reply;
          assert.equal(done.status, status, done.text);
          assert.equal(done.body.error_code, code);
          assert.match(done.body.message, message);
        };
        await expect(
          send(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d])),
          400,
          "MALFORMED_REQUEST",
          /UTF-8/,
        );
        await expect(
          send("[".repeat(100_000) + "]".repeat(100_000)),
          400,
          "MALFORMED_REQUEST",
          /deeper than 64/,
        );
        await expect(
          send('{"secret_name": "p", "__proto__": {"admin": true}}'),
          400,
          "MALFORMED_REQUEST",
          /__proto__/,
        );
        await expect(
          send('{"constructor": {"prototype": {"admin": true}}}'),
          400,
          "MALFORMED_REQUEST",
          /constructor/,
        );
        await expect(
          send(
            JSON.stringify({
              secret_name: "d",
              secret_value: { k: "v" },
              auth_config: JSON.parse('{"a":'.repeat(40) + "1" + "}".repeat(40)) as unknown,
            }),
          ),
          400,
          "INVALID_PARAMETER_VALUE",
          /auth_config must not nest deeper than 32/,
        );
        await expect(
          send(
            JSON.stringify({
              secret_name: "j",
              secret_value: { k: "v" },
              auth_config_json: '{"__proto__": {"x": 1}}',
            }),
          ),
          400,
          "MALFORMED_REQUEST",
          /auth_config_json/,
        );
        await expect(
          send(
            JSON.stringify({
              secret_name: "many",
              secret_value: Object.fromEntries(
                Array.from({ length: 2000 }, (_, i) => [`k${i}`, "v"]),
              ),
            }),
          ),
          400,
          "INVALID_PARAMETER_VALUE",
          /masks take/,
        );
        await expect(send("x".repeat(2 * 1024 * 1024)), 413, "REQUEST_LIMIT_EXCEEDED", /too large/);
        await expect(send("secret_name=x", "text/plain"), 400, "MALFORMED_REQUEST", /Content-Type/);
        // Unknown fields are ignored.
        const extra = await send(
          JSON.stringify({
            secret_name: "extra",
            secret_value: { k: "value-1234" },
            colour: "blue",
            nested: { a: [1] },
          }),
        );
        assert.equal(extra.status, 200, extra.text);
      }));

    it("never answers 500 to odd credentials, paths and methods", () =>
      withServer(dialect, async (server) => {
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              fc.string({ maxLength: 80 }),
              fc.string({ maxLength: 40 }).map((s) => `Basic ${Buffer.from(s).toString("base64")}`),
              fc
                .uint8Array({ maxLength: 40 })
                .map((b) => `Basic ${Buffer.from(b).toString("base64")}`),
              fc.string({ maxLength: 300 }).map((s) => `Bearer ${s}`),
            ),
            fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "HEAD"),
            fc.oneof(
              fc.constantFrom(
                ...ENDPOINTS.map(([, url]) => url),
                "/health",
                "/metrics",
                "/version",
              ),
              fc.string({ maxLength: 40 }).map((s) => `/api/3.0/${encodeURIComponent(s)}`),
              fc.constantFrom(
                "/%",
                "/%E0%A4%A",
                "/api/3.0/mlflow/gateway/secrets/%C0%AF",
                "//",
                "/api/3.0/../../etc/passwd",
              ),
            ),
            async (authorization, method, url) => {
              const reply = await server.call(method, url, {
                headers: { authorization: authorization.replace(/[^\x20-\x7e]/g, "") },
              });
              checkReply(reply);
            },
          ),
          { numRuns },
        );
        assert.equal((await server.call("GET", "/health")).text, "OK");
      }));
  });
}
