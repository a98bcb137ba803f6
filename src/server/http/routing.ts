/**
 * Route registration: every API path is served under `/api/<v>` and `/ajax-api/<v>` (after the
 * static prefix); authenticated routes resolve the caller before the body is even read; the
 * methods of each path are remembered so a wrong method can answer 405.
 */
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  HTTPMethods,
} from "fastify";
import { DEFAULT_WORKSPACE } from "../../store/index.js";
import type { Principal } from "../../domain/permissions/model.js";
import type { CallContext } from "../../domain/context.js";

export type ApiVersion = "2.0" | "3.0";

interface EndpointBase {
  method: HTTPMethods | readonly HTTPMethods[];
  /** Path after the API prefix, e.g. `/mlflow/gateway/secrets/create`. */
  url: string;
  schema?: FastifySchema;
}

export interface ApiEndpoint extends EndpointBase {
  handler: (ctx: CallContext, request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export interface SystemEndpoint extends EndpointBase {
  /** No credentials needed (health and version probes). */
  public: boolean;
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
}

export interface Router {
  /** An authenticated API endpoint under `/api/<version>` and `/ajax-api/<version>`. */
  api(version: ApiVersion, endpoint: ApiEndpoint): void;
  /** An endpoint at the root (after the static prefix). */
  system(endpoint: SystemEndpoint): void;
  /** Methods served on a full path, or undefined for an unknown path. */
  allowedMethods(path: string): readonly string[] | undefined;
  /** Who a request was authenticated as (undefined for public routes and refused requests). */
  principalOf(request: FastifyRequest): Principal | undefined;
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function createRouter(
  app: FastifyInstance,
  options: {
    staticPrefix: string;
    authenticate: (request: FastifyRequest) => Promise<Principal>;
  },
): Router {
  const principals = new WeakMap<FastifyRequest, Principal>();
  const methodsByPath = new Map<string, Set<string>>();

  const contextOf = (request: FastifyRequest): CallContext => {
    const header = request.headers["x-mlflow-workspace"];
    const workspace = typeof header === "string" && header !== "" ? header : DEFAULT_WORKSPACE;
    return {
      principal: principals.get(request)!,
      remoteAddress: request.ip,
      requestId: request.id,
      workspace,
    };
  };

  const add = (
    urls: readonly string[],
    endpoint: EndpointBase,
    authenticated: boolean,
    handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
  ) => {
    const methods = (
      Array.isArray(endpoint.method) ? endpoint.method : [endpoint.method]
    ) as HTTPMethods[];
    for (const url of urls) {
      const known = methodsByPath.get(url) ?? new Set<string>();
      for (const method of methods) {
        known.add(method);
        if (method === "GET") known.add("HEAD");
      }
      methodsByPath.set(url, known);
      app.route({
        method: methods,
        url,
        ...(endpoint.schema ? { schema: endpoint.schema } : {}),
        ...(authenticated
          ? {
              onRequest: async (request: FastifyRequest) => {
                principals.set(request, await options.authenticate(request));
              },
            }
          : {}),
        // A missing body is an empty object, so validation names the missing field.
        preValidation: async (request: FastifyRequest) => {
          if (BODY_METHODS.has(request.method) && request.body === undefined) request.body = {};
        },
        handler,
      });
    }
  };

  return {
    api(version, endpoint) {
      add(
        [
          `${options.staticPrefix}/api/${version}${endpoint.url}`,
          `${options.staticPrefix}/ajax-api/${version}${endpoint.url}`,
        ],
        endpoint,
        true,
        (request, reply) => endpoint.handler(contextOf(request), request, reply),
      );
    },
    system(endpoint) {
      add([`${options.staticPrefix}${endpoint.url}`], endpoint, !endpoint.public, endpoint.handler);
    },
    principalOf(request) {
      return principals.get(request);
    },
    allowedMethods(path) {
      const known = methodsByPath.get(path);
      return known && [...known].sort();
    },
  };
}
