/**
 * The console's only way to the server: its own REST API, same origin, with the session cookie
 * (HttpOnly, so never visible here) and the session's CSRF token on every state-changing call.
 * Nothing this module handles is ever written to storage or to a URL: values and tokens live in
 * component state only as long as they are shown.
 */

/** Where the API lives: the page's path up to `/console/` (so `--static-prefix` just works). */
const API_BASE = location.pathname.replace(/\/console(\/.*)?$/, "");

export type Permission = "NO_PERMISSIONS" | "READ" | "USE" | "EDIT" | "MANAGE";
/** What a grant can give; NO_PERMISSIONS takes away what the default permission would give. */
export const GRANTABLE: readonly Permission[] = ["NO_PERMISSIONS", "READ", "USE", "EDIT", "MANAGE"];
const RANK: Record<Permission, number> = {
  NO_PERMISSIONS: 0,
  READ: 1,
  USE: 2,
  EDIT: 3,
  MANAGE: 4,
};

/** True when `granted` includes `needed` (the server's order). */
export function permits(granted: Permission, needed: Permission): boolean {
  return RANK[granted] >= RANK[needed];
}

export interface Session {
  user: { username: string; is_admin: boolean };
  csrf_token: string;
  /** Epoch ms: the absolute end of the session. */
  expires_at: number;
  idle_timeout_ms: number;
  /** What a user has on a secret without an explicit grant. */
  default_permission: Permission;
  /** Admins, or anyone when the server lets users create secrets. */
  can_create_secrets: boolean;
}

export interface SecretInfo {
  secret_id: string;
  secret_name: string;
  masked_values: Record<string, string>;
  provider?: string;
  auth_config?: Record<string, unknown>;
  created_by?: string;
  created_at: number;
  last_updated_by?: string;
  last_updated_at: number;
  workspace: string;
  kek_version?: number;
}

export interface Grant {
  secret_id: string;
  username: string;
  permission: Permission;
}

export interface User {
  id: string;
  username: string;
  is_admin: boolean;
  secret_permissions?: { secret_id: string; permission: Permission }[];
}

interface TokenInfo {
  token_id: string;
  name: string;
  username: string;
  created_by?: string;
  created_at: number;
  expires_at?: number;
}

export interface AuditEvent {
  event_id: string;
  timestamp: number;
  username?: string;
  action: string;
  outcome: string;
  secret_id?: string;
  secret_name?: string;
  remote_address?: string;
  details?: Record<string, string | number | boolean>;
}

interface CryptoStatus {
  current_kek_version: number;
  using_default_passphrase: boolean;
  keyring_versions: number[];
  kek_versions: {
    kek_version: number;
    rows: number;
    in_keyring: boolean;
    readable: boolean;
    problem?: string;
  }[];
  rotation: {
    target_kek_version: number;
    rows_at_target: number;
    rows_total: number;
    rows_remaining: number;
    complete: boolean;
  };
}

/** An answer other than 2xx, with the server's error code and message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    /** Seconds, from `Retry-After` (429). */
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

let csrfToken: string | undefined;
let onSessionLost: (() => void) | undefined;

/** Set (or clear) the CSRF token sent with state-changing calls. */
export function setCsrfToken(token: string | undefined): void {
  csrfToken = token;
}

/** Called when an authenticated call answers 401: the session has ended on the server. */
export function whenSessionLost(handler: () => void): void {
  onSessionLost = handler;
}

type Query = Record<string, string | number | undefined>;

async function call<T>(
  method: "GET" | "POST" | "PATCH" | "DELETE",
  path: string,
  options: { query?: Query; body?: unknown; signIn?: boolean } = {},
): Promise<T> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== "") params.set(key, String(value));
  }
  const url = `${API_BASE}${path}${params.size > 0 ? `?${params.toString()}` : ""}`;
  // The marker tells the server to leave out `WWW-Authenticate` on 401, so an ended session
  // brings back the sign-in page rather than the browser's own password dialog.
  const headers: Record<string, string> = {
    accept: "application/json",
    "x-requested-with": "mlflow-secrets-console",
  };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET" && csrfToken !== undefined) headers["x-csrf-token"] = csrfToken;
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    cache: "no-store",
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = text === "" ? {} : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body ?? {}) as { error_code?: string; message?: string };
    const retry = Number(response.headers.get("retry-after"));
    if (response.status === 401 && !options.signIn) onSessionLost?.();
    throw new ApiError(
      error.message ?? `The server answered ${response.status}`,
      response.status,
      error.error_code ?? "UNKNOWN",
      Number.isFinite(retry) && retry > 0 ? retry : undefined,
    );
  }
  return body as T;
}

const SECRETS = "/api/3.0/mlflow/gateway/secrets";
const PERMISSIONS = `${SECRETS}/permissions`;
const OURS = "/api/3.0/mlflow-secrets";
const USERS = "/api/2.0/mlflow/users";

/** Every call the console makes, one function each. */
export const api = {
  signIn: (credentials: { username: string; password: string } | { token: string }) =>
    call<{ session: Session }>("POST", `${OURS}/session/create`, {
      body: credentials,
      signIn: true,
    }),
  /** The open session, or `{}` when there is none (not an error: the sign-in page is normal). */
  session: () => call<{ session?: Session }>("GET", `${OURS}/session/get`, { signIn: true }),
  signOut: () => call<object>("DELETE", `${OURS}/session/delete`, { body: {} }),

  listSecrets: (query: {
    provider?: string;
    name_contains?: string;
    max_results: number;
    page_token?: string;
  }) =>
    call<{ secrets: SecretInfo[]; next_page_token?: string }>("GET", `${SECRETS}/list`, {
      query: { ...query, include_kek_version: "true" },
    }),
  getSecret: (secretId: string) =>
    call<{ secret: SecretInfo }>("GET", `${SECRETS}/get`, {
      query: { secret_id: secretId, include_kek_version: "true" },
    }),
  createSecret: (body: {
    secret_name: string;
    secret_value: Record<string, string>;
    provider?: string;
    auth_config?: Record<string, unknown>;
  }) => call<{ secret: SecretInfo }>("POST", `${SECRETS}/create`, { body }),
  updateSecret: (body: {
    secret_id: string;
    secret_value?: Record<string, string>;
    auth_config?: Record<string, unknown>;
  }) => call<{ secret: SecretInfo }>("PATCH", `${SECRETS}/update`, { body }),
  deleteSecret: (secretId: string) =>
    call<object>("DELETE", `${SECRETS}/delete`, { body: { secret_id: secretId } }),
  revealSecret: (secretId: string) =>
    call<{ secret_id: string; secret_value: Record<string, string> }>("POST", `${SECRETS}/value`, {
      body: { secret_id: secretId },
    }),

  listGrants: (secretId: string) =>
    call<{ secret_permissions: Grant[] }>("GET", `${PERMISSIONS}/list`, {
      query: { secret_id: secretId },
    }),
  createGrant: (grant: Grant) => call<object>("POST", `${PERMISSIONS}/create`, { body: grant }),
  updateGrant: (grant: Grant) => call<object>("PATCH", `${PERMISSIONS}/update`, { body: grant }),
  deleteGrant: (secretId: string, username: string) =>
    call<object>("DELETE", `${PERMISSIONS}/delete`, {
      body: { secret_id: secretId, username },
    }),

  getUser: (username: string) =>
    call<{ user: User }>("GET", `${USERS}/get`, { query: { username } }),
  listUsers: () => call<{ users: User[] }>("GET", `${OURS}/users/list`),
  createUser: (username: string, password: string) =>
    call<{ user: User }>("POST", `${USERS}/create`, { body: { username, password } }),
  setAdmin: (username: string, isAdmin: boolean) =>
    call<object>("PATCH", `${USERS}/update-admin`, { body: { username, is_admin: isAdmin } }),
  setPassword: (username: string, password: string) =>
    call<object>("PATCH", `${USERS}/update-password`, { body: { username, password } }),
  deleteUser: (username: string) =>
    call<object>("DELETE", `${USERS}/delete`, { body: { username } }),

  listTokens: (username: string) =>
    call<{ tokens: TokenInfo[] }>("GET", `${OURS}/tokens/list`, { query: { username } }),
  createToken: (name: string) =>
    call<{ token_id: string; token: string; expires_at?: number }>(
      "POST",
      `${OURS}/tokens/create`,
      { body: { name } },
    ),
  revokeToken: (tokenId: string) =>
    call<object>("DELETE", `${OURS}/tokens/revoke`, { body: { token_id: tokenId } }),

  listAudit: (query: {
    action?: string;
    username?: string;
    secret?: string;
    outcome?: string;
    since?: number;
    until?: number;
    max_results: number;
    page_token?: string;
  }) =>
    call<{ events: AuditEvent[]; next_page_token?: string }>("GET", `${OURS}/audit/list`, {
      query,
    }),

  cryptoStatus: () => call<CryptoStatus>("GET", `${OURS}/crypto/status`),
};
