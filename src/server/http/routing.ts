/**
 * Route registration: every API path is served under `/api/<v>` and `/ajax-api/<v>` (after the
 * static prefix); authenticated routes resolve the caller before the body is even read; the
 * methods of each path are remembered so a wrong method can answer 405.
 */
import type { JsonSchemaToTsProvider } from "@fastify/type-provider-json-schema-to-ts";
import type {
  ContextConfigDefault,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  FastifySchema,
  HTTPMethods,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
  RouteGenericInterface,
} from "fastify";
import { DEFAULT_WORKSPACE } from "../../store/index.js";
import type { Principal } from "../../domain/permissions/model.js";
import type { CallContext } from "../../domain/context.js";

export type ApiVersion = "2.0" | "3.0";

/**
 * A request whose body, query string and params have the types their JSON schema describes
 * (fastify's json-schema-to-ts type provider): what the schema validated, the handler sees.
 */
type TypedRequest<S extends FastifySchema> = FastifyRequest<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  S,
  JsonSchemaToTsProvider
>;

type TypedReply<S extends FastifySchema> = FastifyReply<
  RouteGenericInterface,
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  ContextConfigDefault,
  S,
  JsonSchemaToTsProvider
>;

interface EndpointBase<S extends FastifySchema> {
  method: HTTPMethods | readonly HTTPMethods[];
  /** Path after the API prefix, e.g. `/mlflow/gateway/secrets/create`. */
  url: string;
  /** Declared `as const` (or inline), so the handler's request is typed from it. */
  schema?: S;
}

export interface ApiEndpoint<S extends FastifySchema = FastifySchema> extends EndpointBase<S> {
  handler: (ctx: CallContext, request: TypedRequest<S>, reply: TypedReply<S>) => Promise<unknown>;
}

/** An API endpoint that authenticates its caller itself, or needs no caller (signing in). */
export interface PublicApiEndpoint<
  S extends FastifySchema = FastifySchema,
> extends EndpointBase<S> {
  handler: (request: TypedRequest<S>, reply: TypedReply<S>) => Promise<unknown>;
}

export interface SystemEndpoint<S extends FastifySchema = FastifySchema> extends EndpointBase<S> {
  /** No credentials needed (health and version probes). */
  public: boolean;
  handler: (request: TypedRequest<S>, reply: TypedReply<S>) => Promise<unknown>;
}

export interface Router {
  /** An authenticated API endpoint under `/api/<version>` and `/ajax-api/<version>`. */
  api<const S extends FastifySchema>(version: ApiVersion, endpoint: ApiEndpoint<S>): void;
  /** An API endpoint served without authentication (its handler decides). */
  publicApi<const S extends FastifySchema>(
    version: ApiVersion,
    endpoint: PublicApiEndpoint<S>,
  ): void;
  /** An endpoint at the root (after the static prefix). */
  system<const S extends FastifySchema>(endpoint: SystemEndpoint<S>): void;
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
    endpoint: EndpointBase<FastifySchema>,
    kind: { authenticated: boolean; api: boolean },
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
        ...(kind.api || kind.authenticated
          ? {
              onRequest: async (request: FastifyRequest, reply: FastifyReply) => {
                // API answers may carry values, tokens or who-can-see-what: never cached.
                if (kind.api) void reply.header("cache-control", "no-store");
                if (kind.authenticated) {
                  principals.set(request, await options.authenticate(request));
                }
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

  // The one place the schema's types meet fastify's untyped request: fastify has validated the
  // request against the very schema the types were derived from.
  const apiUrls = (version: ApiVersion, url: string) => [
    `${options.staticPrefix}/api/${version}${url}`,
    `${options.staticPrefix}/ajax-api/${version}${url}`,
  ];
  const api = <const S extends FastifySchema>(version: ApiVersion, endpoint: ApiEndpoint<S>) =>
    add(
      apiUrls(version, endpoint.url),
      endpoint,
      { authenticated: true, api: true },
      (request, reply) =>
        endpoint.handler(
          contextOf(request),
          request as unknown as TypedRequest<S>,
          reply as unknown as TypedReply<S>,
        ),
    );
  const publicApi = <const S extends FastifySchema>(
    version: ApiVersion,
    endpoint: PublicApiEndpoint<S>,
  ) =>
    add(
      apiUrls(version, endpoint.url),
      endpoint,
      { authenticated: false, api: true },
      (request, reply) =>
        endpoint.handler(request as unknown as TypedRequest<S>, reply as unknown as TypedReply<S>),
    );
  const system = <const S extends FastifySchema>(endpoint: SystemEndpoint<S>) =>
    add(
      [`${options.staticPrefix}${endpoint.url}`],
      endpoint,
      { authenticated: !endpoint.public, api: false },
      (request, reply) =>
        endpoint.handler(request as unknown as TypedRequest<S>, reply as unknown as TypedReply<S>),
    );

  return {
    api,
    publicApi,
    system,
    principalOf(request) {
      return principals.get(request);
    },
    allowedMethods(path) {
      const known = methodsByPath.get(path);
      return known && [...known].sort();
    },
  };
}
