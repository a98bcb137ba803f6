/**
 * Request auth providers, selected by name with `MLFLOW_TRACKING_AUTH` (MLflow's
 * `RequestAuthProvider` plugins). Built in: `kubernetes` and `kubernetes-namespaced`. Others are
 * registered in code with {@link registerRequestAuthProvider}, or loaded from the ES module named by
 * `MLFLOW_TRACKING_AUTH_PROVIDER_MODULE` (its default export: one provider or an array).
 *
 * Unlike MLflow, an unknown name is an error (MLflow warns and sends the request without auth).
 */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { TRACKING_AUTH_ENV_VAR, TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR } from "../config.js";
import { MlflowSecretsError, invalidParameter } from "../errors.js";
import type { RequestAuthProvider } from "./auth-provider.js";
import { createKubernetesAuthProvider } from "./kubernetes.js";

/** The names of the built-in providers. */
const KUBERNETES_AUTH_PROVIDERS = ["kubernetes", "kubernetes-namespaced"] as const;

const builtIn = new Map<string, RequestAuthProvider>(
  KUBERNETES_AUTH_PROVIDERS.map((name) => [
    name,
    createKubernetesAuthProvider({ name, namespaced: name === "kubernetes-namespaced" }),
  ]),
);
const registered = new Map<string, RequestAuthProvider>();
const loadedModules = new Map<string, Promise<void>>();

function validateProvider(provider: unknown, where: string): RequestAuthProvider {
  const candidate = provider as Partial<RequestAuthProvider> | null | undefined;
  if (
    candidate === null ||
    typeof candidate !== "object" ||
    typeof candidate.name !== "string" ||
    candidate.name.trim() === "" ||
    typeof candidate.authenticate !== "function"
  ) {
    throw invalidParameter(
      `${where}: a request auth provider is an object with a non-empty 'name' and an 'authenticate(request)' function`,
    );
  }
  return candidate as RequestAuthProvider;
}

/**
 * Registers a request auth provider; `MLFLOW_TRACKING_AUTH=<name>` selects it. A later
 * registration with the same name replaces the earlier one (built-ins included).
 *
 * @example
 * ```ts
 * registerRequestAuthProvider({
 *   name: "my-sso",
 *   async authenticate(request) {
 *     request.headers.set("authorization", `Bearer ${await mySso.accessToken()}`);
 *   },
 * });
 * // then: MLFLOW_TRACKING_AUTH=my-sso
 * ```
 */
export function registerRequestAuthProvider(provider: RequestAuthProvider): void {
  const valid = validateProvider(provider, "registerRequestAuthProvider");
  registered.set(valid.name.trim(), valid);
}

/** Forgets providers registered in code or loaded from modules (tests). */
export function resetRequestAuthProviders(): void {
  registered.clear();
  loadedModules.clear();
}

function moduleUrl(specifier: string): string {
  if (specifier.startsWith("file:")) return specifier;
  if (isAbsolute(specifier) || specifier.startsWith(".")) {
    return pathToFileURL(resolve(specifier)).href;
  }
  return specifier; // a package name
}

async function loadProviderModule(specifier: string): Promise<void> {
  let loaded: { default?: unknown };
  try {
    loaded = (await import(moduleUrl(specifier))) as { default?: unknown };
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new MlflowSecretsError(
      `Cannot load ${TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR} '${specifier}': ${reason}`,
      "INVALID_PARAMETER_VALUE",
      { cause: err },
    );
  }
  const exported = loaded.default;
  const where = `${TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR} '${specifier}'`;
  const providers = Array.isArray(exported) ? exported : [exported];
  if (exported === undefined || providers.length === 0) {
    throw invalidParameter(`${where} has no default export (a provider or an array of providers)`);
  }
  for (const provider of providers) {
    const valid = validateProvider(provider, where);
    registered.set(valid.name.trim(), valid);
  }
}

/** The names of every provider known now (built-in and registered). */
export function knownRequestAuthProviders(): string[] {
  return [...new Set([...builtIn.keys(), ...registered.keys()])].sort();
}

/**
 * The provider named `name`, after loading `MLFLOW_TRACKING_AUTH_PROVIDER_MODULE` (once per
 * module). An unknown name is an error listing the known ones.
 */
export async function findRequestAuthProvider(
  name: string,
  moduleSpecifier: string | undefined,
): Promise<RequestAuthProvider> {
  if (moduleSpecifier !== undefined) {
    let loading = loadedModules.get(moduleSpecifier);
    if (loading === undefined) {
      loading = loadProviderModule(moduleSpecifier);
      loadedModules.set(moduleSpecifier, loading);
      loading.catch(() => loadedModules.delete(moduleSpecifier)); // let a later request retry
    }
    await loading;
  }
  const provider = registered.get(name) ?? builtIn.get(name);
  if (provider === undefined) {
    throw invalidParameter(
      `Unknown request auth provider '${name}' (${TRACKING_AUTH_ENV_VAR}). Known providers: ` +
        `${knownRequestAuthProviders().join(", ")}. Register one with registerRequestAuthProvider() ` +
        `or ${TRACKING_AUTH_PROVIDER_MODULE_ENV_VAR}.`,
    );
  }
  return provider;
}

/** True for the built-in Kubernetes providers, for which Basic credentials are ignored. */
export function isKubernetesAuth(name: string | undefined): boolean {
  return (KUBERNETES_AUTH_PROVIDERS as readonly string[]).includes(name ?? "");
}
