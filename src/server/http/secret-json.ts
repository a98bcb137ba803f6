/**
 * The JSON of secrets in answers, built once per unchanged SecretInfo. The store reuses a frozen
 * SecretInfo while its row is unchanged, so each secret's JSON is serialised once (with the same
 * allowlist as every other response, `toRestSecretInfo`), and a list page identical to the last
 * one reuses its encoded bytes. One encoder per server; it holds metadata only, never a value.
 */
import { toRestSecretInfo } from "../../rest/views.js";
import type { SecretInfo } from "../../store/index.js";

interface SecretJsonEncoder {
  /** The REST JSON of one secret. */
  secretJson(info: SecretInfo): string;
  /** The body of a list answer: `{"secrets": […], "next_page_token"?}`. */
  listBody(secrets: readonly SecretInfo[], token: string | undefined): Buffer;
}

export function createSecretJsonEncoder(): SecretJsonEncoder {
  const cache = new WeakMap<SecretInfo, string>();
  let last: { secrets: readonly SecretInfo[]; token: string | undefined; body: Buffer } | undefined;

  const secretJson = (info: SecretInfo): string => {
    let json = cache.get(info);
    if (json === undefined) {
      json = JSON.stringify(toRestSecretInfo(info));
      cache.set(info, json);
    }
    return json;
  };

  return {
    secretJson,
    listBody(secrets, token) {
      if (
        last !== undefined &&
        last.token === token &&
        last.secrets.length === secrets.length &&
        last.secrets.every((info, i) => info === secrets[i])
      ) {
        return last.body;
      }
      const next = token !== undefined ? `,"next_page_token":${JSON.stringify(token)}` : "";
      const body = Buffer.from(`{"secrets":[${secrets.map(secretJson).join(",")}]${next}}`, "utf8");
      last = { secrets, token, body };
      return body;
    },
  };
}
