/**
 * The contract of a request auth provider (MLflow's `RequestAuthProvider` plugin): what it sees
 * and what it does. The registry is auth-providers.ts; built-in providers implement this.
 */
import type { Env } from "../config.js";

/** The request an auth provider sees; it adds or replaces headers. */
export interface AuthRequest {
  readonly method: string;
  /** The full URL (without user-info). */
  readonly url: URL;
  /** The request headers, case-insensitive; set `authorization` (or others) here. */
  readonly headers: Headers;
  /** The exact body bytes, when the body is not a stream. */
  readonly body?: Uint8Array;
}

/** What a provider may use besides the request. */
export interface AuthContext {
  /** The environment the request was resolved from. */
  readonly env: Env | undefined;
}

/** A named way to authenticate requests (MLflow's `RequestAuthProvider`). */
export interface RequestAuthProvider {
  /** The name `MLFLOW_TRACKING_AUTH` selects it by. */
  readonly name: string;
  /** Adds credentials to the request (called for every request, including retries). */
  authenticate(request: AuthRequest, context: AuthContext): void | Promise<void>;
}
