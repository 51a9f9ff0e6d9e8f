import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { jsonSchemaTransform, jsonSchemaTransformObject } from "fastify-type-provider-zod";
import { KEY_CHANNEL } from "../ledger/apiKeyIssuance";
import { RESYNC } from "../store/database";
import type { KeyOwner } from "../store/merchantStore";
import type { ApiContext } from "./apiContext";
import { ApiError } from "../ledger/apiErrors";
import { clientAddress } from "./authentication";
import { SnapshotLocalStore } from "./rateLimitStore";
import { zodValidatorCompiler } from "./requestValidation";
import { balanceRoutes } from "./routes/balanceRoutes";
import { checkoutSettingsRoutes } from "./routes/checkoutSettingsRoutes";
import { withReachableSchemas } from "./reachableSchemas";
import { WEBHOOKS } from "./webhookDocument";
import { paymentRoutes } from "./routes/paymentRoutes";
import { webhookRoutes } from "./routes/webhookRoutes";

export interface MerchantApiOptions {
  /** Requests per authenticated API key (or per client address until a key authenticates) per `rateWindowMs`. */
  rateLimit: number;
  rateWindowMs: number;
  /**
   * Addresses and CIDRs of the proxies in front of the API: from them, X-Forwarded-For names the client the limits
   * count (from anyone else it is ignored: a client could name anyone). None by default.
   */
  trustedProxies?: readonly string[];
  logger?: FastifyBaseLogger | false;
  /** Routes of other roles served on the same port (the checkout's), under the same limits and error bodies. */
  routes?: ReadonlyArray<(app: FastifyInstance) => void>;
}

/** Fastify's own 4xx errors, in the API's words: which part of the request was wrong. */
function fastifyClientError(error: FastifyError): ApiError | undefined {
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiError(400, "invalid_request_error", `body: not valid JSON (${error.message})`, "body");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError(415, "invalid_request_error", "Content-Type: send the body as application/json", "Content-Type");
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(413, "invalid_request_error", "body: larger than the 64 KiB a request may carry", "body");
    case "FST_ERR_BAD_URL":
      return new ApiError(400, "invalid_request_error", "path: not a valid URL (malformed percent-encoding)", "path");
    case "FST_ERR_MAX_PARAM_LENGTH":
      return new ApiError(414, "invalid_request_error", "path: a path parameter longer than any id", "path");
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError(error.statusCode, "invalid_request_error", error.message);
  }
  return undefined;
}

/**
 * The merchant API: typed routes whose zod schemas validate requests, serialise responses and make the OpenAPI 3.1
 * document at `/openapi.json` (a readable reference at `/docs`). Every error is JSON naming the field at fault.
 */
export async function buildMerchantApi(context: ApiContext, options: MerchantApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: options.logger || undefined,
    bodyLimit: 64 * 1024,
    trustProxy: options.trustedProxies?.length ? [...options.trustedProxies] : false,
    return503OnClosing: true,
    // Two log lines per request cost a quarter of a millisecond of CPU each time (bench:api); errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    // Errors the router meets before any route (a malformed URL, an overlong path parameter) get the API's JSON body too.
    frameworkErrors: (error, _request, reply) => {
      const known = fastifyClientError(error) ?? new ApiError(400, "invalid_request_error", error.message);
      return (reply as FastifyReply).code(known.statusCode).send(known.body());
    },
  });
  // The API speaks JSON only: a text/plain body is a 415 naming Content-Type, not a string the schemas puzzle over.
  app.removeContentTypeParser("text/plain");
  app.setValidatorCompiler(zodValidatorCompiler);
  // Responses are built by typed code from the same shapes (paymentResource.ts); parsing each one again with its zod
  // schema cost a twentieth of a payment's creation (bench:api). The schemas still make the OpenAPI document.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = error instanceof ApiError ? error : fastifyClientError(error);
    if (known?.retryAfterSeconds !== undefined) reply.header("retry-after", known.retryAfterSeconds);
    if (known) return reply.code(known.statusCode).send(known.body());
    request.log.error({ err: error }, "request failed");
    return reply.code(500).send(new ApiError(500, "api_error", "internal error; the request may be retried (with the same Idempotency-Key)").body());
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(new ApiError(404, "not_found_error", `no route ${request.method} ${request.url.split("?")[0]}`, "path").body()),
  );

  // What authenticating each request came to: its key's owner, or why it has none (sent once the request is counted).
  const authentication = new WeakMap<FastifyRequest, KeyOwner | ApiError>();
  await app.register(rateLimit, {
    // Added to each route below, after the key is checked.
    global: false,
    max: options.rateLimit,
    timeWindow: options.rateWindowMs,
    store: SnapshotLocalStore,
    // Per key once it has authenticated: one merchant's burst must not throttle another. Until then (no key, a
    // made-up one, a route that takes none) the client's address is counted, so that varying the key buys nothing.
    keyGenerator: (request) => {
      const outcome = authentication.get(request);
      return outcome && !(outcome instanceof ApiError) ? `key ${outcome.keyId}` : `address ${clientAddress(request)}`;
    },
    errorResponseBuilder: (_request, limit) =>
      Object.assign(new ApiError(429, "rate_limit_error", `more than ${limit.max} requests in ${limit.after}; retry after the Retry-After header's seconds`), {
        statusCode: 429,
      }),
  });
  const countRequest = app.rateLimit();

  // The key is checked first, before the body is validated: a request without a valid key learns nothing but that
  // (401/403), as with Stripe; then the request is counted (against the key, or the address when the key failed), and
  // only then is a failure answered, so that a client over its allowance hears 429 whatever it sent. Looking keys up
  // costs the database, so the authenticator limits the failed lookups of each address. The routes ask again for
  // the owner, which the authenticator has cached by then.
  const authenticate = async (request: FastifyRequest) => {
    try {
      authentication.set(request, await context.auth.owner(request));
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      authentication.set(request, error);
    }
  };
  const refuseUnauthenticated = async (request: FastifyRequest) => {
    const outcome = authentication.get(request);
    if (outcome instanceof ApiError) throw outcome;
  };
  app.addHook("onRoute", (route) => {
    const hooks = Array.isArray(route.onRequest) ? route.onRequest : route.onRequest ? [route.onRequest] : [];
    route.onRequest = route.url.startsWith("/v1/") ? [...hooks, authenticate, countRequest, refuseUnauthenticated] : [...hooks, countRequest];
  });

  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Open Pay merchant API",
        version: "1.0.0",
        description: "Create crypto payments on BNB Smart Chain, follow them, refund them, and get told by signed webhooks. See docs/api.md.",
        license: { name: "MIT", identifier: "MIT" },
      },
      // Each gateway is self-hosted: its address is the operator's PUBLIC_URL, so the document names it as a variable
      // (the default is where `npm start` serves it) and stays the same for every gateway (sdk/openapi.json).
      servers: [
        {
          url: "{publicUrl}",
          description: "Your gateway, at its operator's PUBLIC_URL",
          variables: { publicUrl: { default: "http://127.0.0.1:8080", description: "The gateway's PUBLIC_URL" } },
        },
      ],
      tags: [
        { name: "payments", description: "Create payments, read them and list them." },
        { name: "refunds", description: "Refund a paid payment; the merchant signs the escrow call." },
        { name: "balances", description: "The merchant's escrow balance, and withdrawals of it." },
        { name: "webhooks", description: "Where signed webhooks go, and for which events." },
        { name: "events", description: "The webhook events sent, their deliveries, and sending them again." },
        { name: "checkout", description: "The hosted checkout's settings." },
      ],
      webhooks: WEBHOOKS,
      components: { securitySchemes: { apiKey: { type: "http", scheme: "bearer", description: "op_test_… or op_live_…" } } },
      security: [{ apiKey: [] }],
    },
    transform: jsonSchemaTransform,
    // Schemas given an `id` (resourceSchemas.ts, apiSchemas.ts) become named components: a generated client's types.
    transformObject: (document) => withReachableSchemas(jsonSchemaTransformObject(document)),
  });
  await app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  app.get("/health", { schema: { hide: true } }, async () => ({ ok: true }));

  // Revoked keys, announced by whichever process revoked them (the dashboard, npm run merchant): their cached owners
  // go at once. Should the LISTEN session have been lost meanwhile, every cached owner goes. The last uses still being
  // written are waited for on close.
  let stopListening: (() => Promise<void>) | undefined;
  app.addHook("onReady", async () => {
    stopListening = await context.listen(KEY_CHANNEL, (keyId) => (keyId === RESYNC ? context.auth.forgetAll() : context.auth.forget(keyId)));
  });
  app.addHook("onClose", async () => {
    await stopListening?.();
    await context.auth.lastUse.flushed();
  });

  paymentRoutes(app, context);
  webhookRoutes(app, context);
  checkoutSettingsRoutes(app, context);
  balanceRoutes(app, context);
  for (const mount of options.routes ?? []) mount(app);
  return app;
}
