/**
 * An independent SigV4 verifier, written from AWS's description of the algorithm (not from the
 * signer under test), checking a request as a server such as API Gateway receives it: the path as
 * sent, encoded once more per segment; the query decoded and re-encoded strictly, sorted; the
 * signed headers' values trimmed with inner spaces collapsed; the payload hash over the bytes
 * received.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { Recorded } from "./helpers.js";

interface CheckResult {
  ok: boolean;
  reason?: string;
  signedHeaders?: string[];
  service?: string;
  region?: string;
}

function strictEncode(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

function hmac(key: Buffer | string, data: string): Buffer {
  return createHmac("sha256", key).update(data, "utf8").digest();
}

function canonicalQuery(rawQuery: string): string {
  if (rawQuery === "") return "";
  return rawQuery
    .split("&")
    .filter((pair) => pair !== "")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const key = decodeURIComponent(eq === -1 ? pair : pair.slice(0, eq));
      const value = eq === -1 ? "" : decodeURIComponent(pair.slice(eq + 1));
      return [strictEncode(key), strictEncode(value)] as const;
    })
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** Verifies `req` (as received) against the secret key; `secrets` maps access key ids to keys. */
export function verifySigV4(req: Recorded, secrets: Record<string, string>): CheckResult {
  const auth = req.headers.authorization ?? "";
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!match) return { ok: false, reason: "malformed Authorization" };
  const [, keyId, date, region, service, signedHeaderList, signature] =
    match as unknown as string[];
  const secret = secrets[keyId!];
  if (secret === undefined) return { ok: false, reason: "unknown access key" };
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  if (!amzDate.startsWith(date!)) return { ok: false, reason: "date mismatch" };

  const payloadHash = sha256Hex(req.body);
  if (req.headers["x-amz-content-sha256"] !== payloadHash) {
    return { ok: false, reason: "x-amz-content-sha256 is not the hash of the body received" };
  }
  const signedHeaders = signedHeaderList!.split(";");
  if (!signedHeaders.includes("host")) return { ok: false, reason: "host not signed" };
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = req.headers[name];
      const text = Array.isArray(value) ? value.join(",") : (value ?? "");
      return `${name}:${text.trim().replace(/\s+/g, " ")}\n`;
    })
    .join("");

  const [rawPath = "/", rawQuery = ""] = req.url.split("?", 2) as [string, string?];
  const canonicalPath = rawPath
    .split("/")
    .map((segment) => strictEncode(segment))
    .join("/");
  const canonicalRequest = [
    req.method,
    canonicalPath,
    canonicalQuery(rawQuery),
    canonicalHeaders,
    signedHeaderList,
    payloadHash,
  ].join("\n");
  const scope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, sha256Hex(canonicalRequest)].join("\n");
  const signingKey = hmac(
    hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!),
    "aws4_request",
  );
  const expected = createHmac("sha256", signingKey).update(stringToSign, "utf8").digest();
  const given = Buffer.from(signature!, "hex");
  const ok = given.length === expected.length && timingSafeEqual(given, expected);
  return {
    ok,
    ...(ok ? {} : { reason: "signature mismatch" }),
    signedHeaders,
    service: service!,
    region: region!,
  };
}
