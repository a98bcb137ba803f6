/**
 * The environment as `requests` reads it — which proxy (HTTPS_PROXY / https_proxy / ALL_PROXY /
 * NO_PROXY), which CA bundle, which `.netrc` credentials — checked against `requests` itself: every
 * case is also run through Python's `requests` (when python3 has it) and the answers must agree.
 * The hard-coded expectations keep the test meaningful where Python is missing.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readCaBundleEnv, readProxyEnv, type Env } from "../../src/config.js";
import { netrcCredentialsFor, parseNetrc } from "../../src/client/netrc.js";
import { parseInetAton, proxyFor, proxyAuthorization } from "../../src/client/proxy.js";
import { hasPython, runPython } from "../helpers/python.js";
import { tempDir } from "./helpers.js";

const hasRequests =
  hasPython &&
  (() => {
    try {
      runPython("import requests");
      return true;
    } catch {
      return false;
    }
  })();
const NO_REQUESTS = !hasRequests && "python3 with requests not found";

/** The proxy `requests` would use for each case (None → null), as MLflow's session sends. */
const PYTHON_PROXIES = `
import json, os, sys, requests
from requests.utils import select_proxy
out = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["env"])
    settings = requests.Session().merge_environment_settings(case["url"], {}, None, True, None)
    verify = settings["verify"]
    out.append({"proxy": select_proxy(case["url"], settings["proxies"]),
                "verify": verify if isinstance(verify, str) else None})
print(json.dumps(out))
`;

/** What ours picks: the raw value of the variable that named the proxy (as requests returns it). */
function ourProxy(url: string, env: Env): string | null {
  const route = proxyFor(new URL(url), url, env);
  return route === undefined ? null : env[route.source]!;
}

const URLS = [
  "https://mlflow.example.com/api/2.0/x",
  "https://mlflow.example.com:8443/api",
  "https://MLflow.Example.COM/api",
  "https://h.example.com:443/api",
  "http://mlflow.example.com/api",
  "http://10.1.2.3:5000/api",
  "https://127.0.0.1/api",
  "https://[::1]:5000/api",
  "https://sub.corp.internal/api",
  "https://corp.internal/api",
  "https://notcorp.internal/api",
  "https://localhost:5000/api",
];

const P = "http://proxy.corp:3128";
const Q = "http://other-proxy.corp:8080";
const PROXY_ENVS: Env[] = [
  {},
  { HTTPS_PROXY: P },
  { https_proxy: P, HTTPS_PROXY: Q },
  { https_proxy: "", HTTPS_PROXY: P },
  { HTTP_PROXY: P },
  { http_proxy: P, HTTPS_PROXY: Q },
  { ALL_PROXY: P },
  { all_proxy: P, HTTPS_PROXY: Q },
  { HTTP_PROXY: P, REQUEST_METHOD: "GET" },
  { http_proxy: P, REQUEST_METHOD: "GET" },
  { Https_Proxy: P },
  { HTTPS_PROXY: "proxy.corp:3128" },
];
const NO_PROXY_VALUES = [
  "*",
  "example.com",
  ".example.com",
  "EXAMPLE.COM",
  "mlflow.example.com:8443",
  "mlflow.example.com:443",
  "h.example.com:443",
  " example.com , other.org ",
  "10.0.0.0/8",
  "10.1.2.3",
  "10.1.2.3:5000",
  "10.1.2.0/24,127.0.0.1/32",
  "10.0.0.0/33",
  "10.1",
  "0.0.1",
  "::1",
  "internal",
  ".internal",
  "corp.internal",
  "*,example.com",
  "localhost",
  "localhost:5000",
];
const NO_PROXY_ENVS: Env[] = [
  ...NO_PROXY_VALUES.map((v) => ({ HTTPS_PROXY: P, HTTP_PROXY: P, NO_PROXY: v })),
  ...NO_PROXY_VALUES.map((v) => ({ HTTPS_PROXY: P, HTTP_PROXY: P, no_proxy: v })),
  { HTTPS_PROXY: P, no_proxy: "", NO_PROXY: "*" },
  { HTTPS_PROXY: P, no_proxy: "other.org", NO_PROXY: "example.com" },
  { HTTPS_PROXY: P, no_proxy: "", NO_PROXY: "example.com" },
];

describe("which proxy, as requests decides", () => {
  it("known answers (kept without Python)", () => {
    const url = "https://mlflow.example.com/api";
    assert.equal(ourProxy(url, { HTTPS_PROXY: P }), P);
    assert.equal(ourProxy(url, { https_proxy: P, HTTPS_PROXY: Q }), P, "lower case wins");
    assert.equal(ourProxy(url, { https_proxy: "", HTTPS_PROXY: P }), null, "empty lower unsets");
    assert.equal(ourProxy(url, { HTTP_PROXY: P }), null, "HTTP_PROXY is for http:// only");
    assert.equal(ourProxy(url, { ALL_PROXY: P, HTTP_PROXY: Q }), P);
    assert.equal(ourProxy(url, { HTTPS_PROXY: P, NO_PROXY: "example.com" }), null);
    assert.equal(ourProxy(url, { HTTPS_PROXY: P, NO_PROXY: ".example.com" }), null);
    assert.equal(ourProxy(url, { HTTPS_PROXY: P, NO_PROXY: "ample.com" }), P, "not a suffix");
    assert.equal(ourProxy(url, { HTTPS_PROXY: P, NO_PROXY: "*" }), null);
    assert.equal(ourProxy(url, { HTTPS_PROXY: P, NO_PROXY: "*,x" }), P, "'*' only alone");
    assert.equal(
      ourProxy("https://h.example.com:8443/a", { HTTPS_PROXY: P, NO_PROXY: "h.example.com:8443" }),
      null,
    );
    assert.equal(
      ourProxy("https://h.example.com:8443/a", { HTTPS_PROXY: P, NO_PROXY: "h.example.com:9000" }),
      P,
    );
    assert.equal(ourProxy("https://10.1.2.3/a", { HTTPS_PROXY: P, NO_PROXY: "10.0.0.0/8" }), null);
    assert.equal(ourProxy("https://10.1.2.3/a", { HTTPS_PROXY: P, NO_PROXY: "10.0.0.0/33" }), P);
    assert.equal(ourProxy("http://h/a", { HTTP_PROXY: P, REQUEST_METHOD: "GET" }), null);
    assert.equal(ourProxy("http://h/a", { http_proxy: P, REQUEST_METHOD: "GET" }), P);
  });

  it("inet_aton's address forms (as Python's socket.inet_aton reads them)", () => {
    assert.equal(parseInetAton("10.1.2.3"), 0x0a010203);
    assert.equal(parseInetAton("10.1"), 0x0a000001);
    assert.equal(parseInetAton("0x7f.1"), 0x7f000001);
    assert.equal(parseInetAton("010.0.0.1"), 0x08000001);
    assert.equal(parseInetAton("1.2.3.256"), undefined);
    assert.equal(parseInetAton("1.2.3.4.5"), undefined);
    assert.equal(parseInetAton("09.1.1.1"), undefined);
    assert.equal(parseInetAton("example.com"), undefined);
  });

  it(
    `agrees with requests on ${URLS.length * (PROXY_ENVS.length + NO_PROXY_ENVS.length)} cases`,
    { skip: NO_REQUESTS },
    () => {
      const cases = [...PROXY_ENVS, ...NO_PROXY_ENVS].flatMap((env) =>
        URLS.map((url) => ({ env, url })),
      );
      const theirs = JSON.parse(runPython(PYTHON_PROXIES, JSON.stringify(cases))) as {
        proxy: string | null;
      }[];
      const mismatches = cases
        .map((c, i) => ({ ...c, ours: ourProxy(c.url, c.env), theirs: theirs[i]!.proxy }))
        .filter((c) => c.ours !== c.theirs);
      assert.deepEqual(mismatches, []);
      // The cases exercise both answers.
      assert.ok(theirs.some((t) => t.proxy === null) && theirs.some((t) => t.proxy !== null));
    },
  );

  it("proxy credentials: percent-decoded, Basic; only with a password part (requests' rule)", () => {
    const route = (value: string) =>
      proxyFor(new URL("https://h/"), "https://h/", { HTTPS_PROXY: value })!;
    assert.equal(
      proxyAuthorization(route("http://a%40b:p%3Aw%2F@proxy:3128")),
      `Basic ${Buffer.from("a@b:p:w/").toString("base64")}`,
    );
    assert.equal(
      proxyAuthorization(route("http://user:@proxy")),
      `Basic ${Buffer.from("user:").toString("base64")}`,
    );
    assert.equal(proxyAuthorization(route("http://user@proxy")), undefined);
    assert.equal(
      proxyAuthorization(route("http://j\u00f6rg:pw@proxy")),
      `Basic ${Buffer.from("j\u00f6rg:pw", "latin1").toString("base64")}`,
    );
    assert.equal(route("proxy.corp:3128").url.href, "http://proxy.corp:3128/");
  });

  it("the proxy-variable precedence matches Python's getproxies_environment", () => {
    const env = { HTTPS_PROXY: P, https_proxy: Q, NO_PROXY: "a", no_proxy: "" };
    const read = readProxyEnv(env);
    assert.deepEqual(read.proxies.get("https"), { value: Q, source: "https_proxy" });
    assert.equal(read.proxies.has("no"), false, "an empty no_proxy removes NO_PROXY (urllib)");
    assert.deepEqual(read.noProxy, { value: "a", source: "NO_PROXY" }, "…but requests reads it");
  });
});

describe("which CA bundle, as requests decides", () => {
  const envs: Env[] = [
    {},
    { REQUESTS_CA_BUNDLE: "/a.pem" },
    { CURL_CA_BUNDLE: "/b.pem" },
    { REQUESTS_CA_BUNDLE: "/a.pem", CURL_CA_BUNDLE: "/b.pem" },
    { REQUESTS_CA_BUNDLE: "", CURL_CA_BUNDLE: "/b.pem" },
  ];

  it("REQUESTS_CA_BUNDLE, then CURL_CA_BUNDLE, then (ours) SSL_CERT_FILE", () => {
    assert.equal(
      readCaBundleEnv({ REQUESTS_CA_BUNDLE: "/a", CURL_CA_BUNDLE: "/b" })?.source,
      "REQUESTS_CA_BUNDLE",
    );
    assert.equal(readCaBundleEnv({ REQUESTS_CA_BUNDLE: "", CURL_CA_BUNDLE: "/b" })?.value, "/b");
    assert.deepEqual(readCaBundleEnv({ SSL_CERT_FILE: "/c", CURL_CA_BUNDLE: "/b" }), {
      value: "/b",
      source: "CURL_CA_BUNDLE",
    });
    assert.equal(readCaBundleEnv({ SSL_CERT_FILE: "/c" })?.source, "SSL_CERT_FILE");
    assert.equal(readCaBundleEnv({}), undefined);
  });

  it("agrees with requests' merge_environment_settings", { skip: NO_REQUESTS }, () => {
    const cases = envs.map((env) => ({ env, url: "https://mlflow.example.com/" }));
    const theirs = JSON.parse(runPython(PYTHON_PROXIES, JSON.stringify(cases))) as {
      verify: string | null;
    }[];
    assert.deepEqual(
      envs.map((env) => readCaBundleEnv(env)?.value ?? null),
      theirs.map((t) => t.verify),
    );
  });
});

const PYTHON_NETRC = `
import json, os, sys
from requests.utils import get_netrc_auth
from netrc import netrc, NetrcParseError
out = []
for case in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update(case["env"])
    auth = get_netrc_auth(case["url"])
    try:
        hosts = {k: list(v) for k, v in netrc(case["file"]).hosts.items()} if case.get("file") else None
        error = None
    except NetrcParseError as e:
        hosts, error = None, e.lineno
    out.append({"auth": list(auth) if auth else None, "hosts": hosts, "error": error})
print(json.dumps(out))
`;

const NETRC_FILES: Record<string, string> = {
  simple: "machine mlflow.example.com login alice password s3cret\n",
  multi:
    "# comment\nmachine a.example.com\n  login a\n  password pa\n\nmachine mlflow.example.com login bob password pb # trailing\ndefault login anon password pd\n",
  quoted: 'machine mlflow.example.com login "al ice" password "p\\"w d"\n',
  escaped: "machine mlflow.example.com login al\\ ice password p\\\\w\n",
  account: "machine mlflow.example.com account acct password pw\n",
  nopassword: "machine mlflow.example.com login tokenonly\n",
  user: "machine mlflow.example.com user u1 password p1\n",
  macdef: "macdef init\ncd /pub\nbinary\n\nmachine mlflow.example.com login m password mp\n",
  crlf: "machine mlflow.example.com\r\n login c\r\n password cp\r\n",
  defaultonly: "default login d password dp\n",
  duplicate:
    "machine mlflow.example.com login first password p1\nmachine mlflow.example.com login second password p2\n",
  case: "machine MLflow.Example.COM login upper password up\n",
  badtoken: "machine mlflow.example.com login x password y\nbogus token\n",
  badfollower: "machine mlflow.example.com login x passwd y\n",
  nomacroend: "macdef init\ncd /pub\n",
  hashword: "#comment at start\n\n#word machine mlflow.example.com login h password hp\n",
  commentmid: "machine mlflow.example.com login k # note\n password kp\n",
  empty: "",
};

describe(".netrc, as requests reads it", () => {
  const home = tempDir("netrc-");
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(NETRC_FILES)) {
    paths[name] = join(home, `${name}.netrc`);
    writeFileSync(paths[name], content);
    chmodSync(paths[name], 0o600);
  }

  it("known answers (kept without Python)", async () => {
    const get = async (name: string, host = "mlflow.example.com") =>
      (await netrcCredentialsFor(host, { HOME: home, NETRC: paths[name] })).credentials;
    assert.deepEqual(
      (({ username, password }) => ({ username, password }))((await get("simple"))!),
      { username: "alice", password: "s3cret" },
    );
    assert.equal((await get("multi"))!.username, "bob");
    assert.equal((await get("multi", "elsewhere.org"))!.machine, "default");
    assert.equal((await get("quoted"))!.password, 'p"w d');
    assert.equal((await get("account"))!.username, "acct", "account stands in for login");
    assert.equal((await get("nopassword"))!.password, "");
    assert.equal((await get("duplicate"))!.username, "second");
    assert.equal(await get("case"), undefined, "machine names are case-sensitive");
    assert.equal(await get("badtoken"), undefined, "an unparsable file gives nothing");
    assert.throws(() => parseNetrc(NETRC_FILES.badfollower!), /bad follower token \(line 1\)/);
  });

  it("NETRC, ~/.netrc, then ~/_netrc; NETRC='' means none", async () => {
    const h = tempDir("netrc-home-");
    writeFileSync(join(h, "_netrc"), NETRC_FILES.simple!);
    assert.equal(
      (await netrcCredentialsFor("mlflow.example.com", { HOME: h })).credentials?.path,
      join(h, "_netrc"),
    );
    writeFileSync(join(h, ".netrc"), NETRC_FILES.user!);
    assert.equal(
      (await netrcCredentialsFor("mlflow.example.com", { HOME: h })).credentials?.username,
      "u1",
    );
    assert.equal(
      (await netrcCredentialsFor("mlflow.example.com", { HOME: h, NETRC: "" })).credentials,
      undefined,
    );
    mkdirSync(join(h, "sub"));
    writeFileSync(join(h, "sub", "n"), NETRC_FILES.account!);
    assert.equal(
      (await netrcCredentialsFor("mlflow.example.com", { HOME: h, NETRC: "~/sub/n" })).credentials
        ?.username,
      "acct",
    );
  });

  it(
    "agrees with requests' get_netrc_auth and Python's netrc parser",
    { skip: NO_REQUESTS },
    async () => {
      const hostsFor = ["mlflow.example.com", "a.example.com", "elsewhere.org"];
      const cases = Object.keys(NETRC_FILES).flatMap((name) =>
        hostsFor.map((host) => ({
          name,
          host,
          url: `https://${host}/api`,
          env: { HOME: home, NETRC: paths[name]! },
          file: paths[name]!,
        })),
      );
      const theirs = JSON.parse(runPython(PYTHON_NETRC, JSON.stringify(cases))) as {
        auth: [string, string] | null;
        hosts: Record<string, [string, string, string]> | null;
        error: number | null;
      }[];
      for (const [i, c] of cases.entries()) {
        const ours = (await netrcCredentialsFor(c.host, c.env)).credentials;
        assert.deepEqual(
          ours ? [ours.username, ours.password] : null,
          theirs[i]!.auth,
          `${c.name} for ${c.host}`,
        );
        let parsed: Record<string, [string, string, string]> | null = null;
        let line: number | null = null;
        try {
          parsed = Object.fromEntries(
            [...parseNetrc(NETRC_FILES[c.name]!)].map(([k, v]) => [
              k,
              [v.login, v.account, v.password],
            ]),
          );
        } catch (err) {
          line = (err as { line: number }).line;
        }
        assert.deepEqual(
          { hosts: parsed, error: line },
          { hosts: theirs[i]!.hosts, error: theirs[i]!.error },
          c.name,
        );
      }
    },
  );
});
