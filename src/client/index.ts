/** The client side: credential resolution, authenticated HTTP, login and profile files. */
export {
  getDefaultHostCreds,
  readMlflowCreds,
  type MlflowCreds,
  type ReadMlflowCredsOptions,
} from "./creds.js";
export { MlflowHostCreds, type MlflowHostCredsInit } from "./host-creds.js";
export {
  callEndpoint,
  httpRequest,
  type HostCredsSource,
  type HttpRequestOptions,
  type QueryValue,
} from "./http.js";
export { registerRequestAuthProvider } from "./auth-providers.js";
export type { AuthContext, AuthRequest, RequestAuthProvider } from "./auth-provider.js";
export { login, type LoginBackend, type LoginOptions } from "./login.js";
export { overwriteOrCreateDatabricksProfile, type DatabricksProfile } from "./profiles.js";
