/**
 * Keeping credentials out of messages: URLs lose their user-info and query, and text that came
 * back from a server has any credential of the request masked before it reaches an error.
 */

/** The mask shown in place of a secret. */
export const SECRET_MASK = "********";

/**
 * A URL fit for a message: no `user:password@`, no query string or fragment. Text that does not
 * parse as a URL is returned with anything up to an `@` removed.
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    parsed.search = "";
    parsed.hash = "";
    return parsed.toString();
  } catch {
    return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, "$1").replace(/[?#].*$/, "");
  }
}

/** A URL as the user wrote it, minus any `user:password@` (for display). */
export function hideUserInfo(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/?#]*@/i, "$1");
}

/**
 * Replaces every occurrence of each secret (ignoring ones shorter than 4 characters, which would
 * mask ordinary words) with {@link SECRET_MASK}.
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join(SECRET_MASK);
  }
  return out;
}
