/**
 * The built-in `kubernetes` and `kubernetes-namespaced` auth providers (MLflow ≥ 3.11): a bearer
 * token from the pod's service-account token file, else from the active kubeconfig context
 * (`token`, `tokenFile` or an `exec` credential plugin). `kubernetes-namespaced` also sends the
 * namespace as `X-MLFLOW-WORKSPACE` unless a workspace is already set. Neither replaces an
 * `Authorization` header that is already there (an explicit `MLFLOW_TRACKING_TOKEN` wins).
 *
 * The token file is read on every request (projected tokens rotate); exec-plugin tokens are kept
 * until their `expirationTimestamp` (60 s when they give none).
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { parse as parseYaml } from "yaml";
import { overlayEnv, readKubeconfigPaths, resolveHomeDir, type Env } from "../config.js";
import { MlflowSecretsError } from "../errors.js";
import type { AuthContext, AuthRequest, RequestAuthProvider } from "./auth-provider.js";

/** Where a pod's service-account credentials are mounted. */
const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const WORKSPACE_HEADER = "x-mlflow-workspace";
const EXEC_TOKEN_DEFAULT_TTL_MS = 60_000;
const EXEC_TIMEOUT_MS = 30_000;

/** Options of {@link createKubernetesAuthProvider}. */
interface KubernetesAuthOptions {
  readonly name: string;
  /** Also send the namespace as `X-MLFLOW-WORKSPACE`. */
  readonly namespaced: boolean;
  /** The service-account directory (default {@link SERVICE_ACCOUNT_DIR}). */
  readonly serviceAccountDir?: string;
}

interface KubeUser {
  token?: string;
  tokenFile?: string;
  exec?: {
    command?: string;
    args?: string[];
    env?: { name: string; value: string }[] | null;
    apiVersion?: string;
  };
  "auth-provider"?: unknown;
}

interface KubeconfigView {
  /** The files read, for messages. */
  paths: string[];
  userName?: string;
  user?: KubeUser;
  namespace?: string;
  /** The directory relative paths in the user entry are resolved against. */
  baseDir?: string;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim() || undefined;
  } catch {
    return undefined;
  }
}

type Named<T> = { name?: string } & T;

async function loadKubeconfig(env: Env | undefined): Promise<KubeconfigView> {
  const paths = [...(readKubeconfigPaths(env) ?? [join(resolveHomeDir(env), ".kube", "config")])];
  let currentContext: string | undefined;
  const contexts = new Map<string, { user?: string; namespace?: string }>();
  const users = new Map<string, { user: KubeUser; baseDir: string }>();
  for (const path of paths) {
    const text = await readOptional(path);
    if (text === undefined) continue;
    let doc: {
      "current-context"?: string;
      contexts?: Named<{ context?: { user?: string; namespace?: string } }>[];
      users?: Named<{ user?: KubeUser }>[];
    };
    try {
      doc = (parseYaml(text) ?? {}) as typeof doc;
    } catch (err) {
      throw new MlflowSecretsError(`Cannot parse kubeconfig '${path}'`, "INVALID_PARAMETER_VALUE", {
        cause: err,
      });
    }
    // Merging as kubectl does: the first file to set a value wins.
    currentContext ??= doc["current-context"] || undefined;
    for (const c of doc.contexts ?? []) {
      if (c?.name && !contexts.has(c.name)) contexts.set(c.name, c.context ?? {});
    }
    for (const u of doc.users ?? []) {
      if (u?.name && !users.has(u.name)) {
        users.set(u.name, { user: u.user ?? {}, baseDir: dirname(path) });
      }
    }
  }
  const context = currentContext === undefined ? undefined : contexts.get(currentContext);
  const userEntry = context?.user === undefined ? undefined : users.get(context.user);
  return {
    paths,
    userName: context?.user,
    user: userEntry?.user,
    baseDir: userEntry?.baseDir,
    namespace: context?.namespace || undefined,
  };
}

const execCache = new Map<string, { token: string; expiresAt: number }>();

function runExecPlugin(
  exec: NonNullable<KubeUser["exec"]>,
  baseDir: string,
  env: Env | undefined,
): Promise<string> {
  const command = exec.command ?? "";
  const resolved = command.includes("/") && !isAbsolute(command) ? join(baseDir, command) : command;
  const key = JSON.stringify([resolved, exec.args ?? [], exec.env ?? []]);
  const cached = execCache.get(key);
  if (cached && cached.expiresAt > Date.now()) return Promise.resolve(cached.token);
  const childEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(overlayEnv(env, {}))) {
    if (value !== undefined) childEnv[name] = value;
  }
  for (const { name, value } of exec.env ?? []) childEnv[name] = value;
  childEnv.KUBERNETES_EXEC_INFO = JSON.stringify({
    apiVersion: exec.apiVersion ?? "client.authentication.k8s.io/v1",
    kind: "ExecCredential",
    spec: { interactive: false },
  });
  return new Promise((resolvePromise, reject) => {
    execFile(
      resolved,
      exec.args ?? [],
      { env: childEnv, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) {
          // The plugin's output may hold a token: report the command and exit status only.
          const code = (err as { code?: unknown }).code;
          const status = typeof code === "number" || typeof code === "string" ? code : "error";
          reject(
            new MlflowSecretsError(
              `The kubeconfig exec credential plugin '${command}' failed (${status})`,
              "UNAUTHENTICATED",
            ),
          );
          return;
        }
        let status: { token?: string; expirationTimestamp?: string } | undefined;
        try {
          status = (JSON.parse(stdout) as { status?: typeof status }).status;
        } catch {
          status = undefined;
        }
        if (!status?.token) {
          reject(
            new MlflowSecretsError(
              `The kubeconfig exec credential plugin '${command}' returned no status.token`,
              "UNAUTHENTICATED",
            ),
          );
          return;
        }
        const expiry = status.expirationTimestamp ? Date.parse(status.expirationTimestamp) : NaN;
        execCache.set(key, {
          token: status.token,
          expiresAt: Number.isFinite(expiry) ? expiry : Date.now() + EXEC_TOKEN_DEFAULT_TTL_MS,
        });
        resolvePromise(status.token);
      },
    );
  });
}

async function kubeconfigToken(
  view: KubeconfigView,
  env: Env | undefined,
): Promise<string | undefined> {
  const user = view.user;
  if (user === undefined) return undefined;
  if (user.token) return user.token;
  if (user.tokenFile) {
    const path = isAbsolute(user.tokenFile)
      ? user.tokenFile
      : join(view.baseDir ?? "", user.tokenFile);
    return readOptional(path);
  }
  if (user.exec?.command) return runExecPlugin(user.exec, view.baseDir ?? "", env);
  if (user["auth-provider"] !== undefined) {
    throw new MlflowSecretsError(
      `kubeconfig user '${view.userName ?? ""}' uses a legacy auth-provider, which is not supported; use a token, tokenFile or an exec plugin`,
      "UNAUTHENTICATED",
    );
  }
  return undefined;
}

/**
 * Creates a Kubernetes auth provider.
 *
 * @example
 * ```ts
 * registerRequestAuthProvider(
 *   createKubernetesAuthProvider({ name: "kubernetes", namespaced: false, serviceAccountDir: "/custom/sa" }),
 * );
 * ```
 */
export function createKubernetesAuthProvider(options: KubernetesAuthOptions): RequestAuthProvider {
  const saDir = options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  return {
    name: options.name,
    async authenticate(request: AuthRequest, context: AuthContext): Promise<void> {
      let kubeconfig: KubeconfigView | undefined;
      const view = async (): Promise<KubeconfigView> =>
        (kubeconfig ??= await loadKubeconfig(context.env));
      if (!request.headers.has("authorization")) {
        const token =
          (await readOptional(join(saDir, "token"))) ??
          (await kubeconfigToken(await view(), context.env));
        if (token === undefined) {
          throw new MlflowSecretsError(
            `Could not determine Kubernetes credentials: no service-account token at ${join(saDir, "token")} ` +
              `and no token for the current context in kubeconfig (${(await view()).paths.join(", ")})`,
            "UNAUTHENTICATED",
          );
        }
        request.headers.set("authorization", `Bearer ${token}`);
      }
      if (options.namespaced && !request.headers.has(WORKSPACE_HEADER)) {
        const namespace =
          (await readOptional(join(saDir, "namespace"))) ?? (await view()).namespace;
        if (namespace === undefined) {
          throw new MlflowSecretsError(
            `Could not determine the Kubernetes namespace for ${options.name}: set MLFLOW_WORKSPACE, ` +
              `or run in a pod (${join(saDir, "namespace")}), or set a namespace on the kubeconfig context`,
            "INVALID_PARAMETER_VALUE",
          );
        }
        request.headers.set(WORKSPACE_HEADER, namespace);
      }
    },
  };
}
