/**
 * Pages live in the URL's fragment (`#/secrets/s-…`), so the server serves one page and nothing
 * in a route is ever sent to it. Routes hold ids and names only — never a value or a token.
 */
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "secrets" }
  | { page: "new-secret" }
  | { page: "secret"; secretId: string }
  | { page: "users" }
  | { page: "tokens" }
  | { page: "audit" }
  | { page: "keys" };

function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "secrets":
      if (parts[1] === "new") return { page: "new-secret" };
      if (parts[1]) return { page: "secret", secretId: parts[1] };
      return { page: "secrets" };
    case "users":
    case "tokens":
    case "audit":
    case "keys":
      return { page: parts[0] };
    default:
      return { page: "secrets" };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case "new-secret":
      return "#/secrets/new";
    case "secret":
      return `#/secrets/${encodeURIComponent(route.secretId)}`;
    default:
      return `#/${route.page}`;
  }
}

export function navigate(route: Route): void {
  location.hash = href(route);
}

/** The current route, following the fragment. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
