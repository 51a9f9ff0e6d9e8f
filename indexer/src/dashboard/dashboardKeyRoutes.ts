import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { issueKey, revokeKey } from "../ledger/apiKeyIssuance";
import type { GatewayContext } from "../ledger/gatewayContext";
import { listApiKeys, type ApiKeyRecord } from "../store/merchantStore";
import type { DashboardGuard } from "./dashboardGuard";

/** The API's cache of key owners in this process (api/authentication.ts): a key revoked here leaves it before the answer. */
export interface KeyOwnerCache {
  forget(keyId: string): void;
}

const keyBody = z.strictObject({ name: z.string().max(1000) });
const keyParams = z.strictObject({ id: z.string().max(100) });

/** A key as the dashboard shows it: never the key itself. */
const keyJson = (record: ApiKeyRecord) => ({
  id: record.id,
  name: record.name,
  prefix: record.prefix,
  mode: record.mode,
  created_at: record.createdAt.toISOString(),
  last_used_at: record.lastUsedAt?.toISOString() ?? null,
  revoked_at: record.revokedAt?.toISOString() ?? null,
});

/**
 * The signed-in merchant's API keys of this gateway's mode: the list (name, prefix, created, last used, revoked), a
 * new key (the key in that one answer: it is kept only as its hash) and revoking one, by the rules `npm run merchant`
 * follows (ledger/apiKeyIssuance.ts). Another merchant's key is a 404, as one that does not exist.
 */
export function dashboardKeyRoutes(app: FastifyInstance, context: GatewayContext, guard: DashboardGuard, owners?: KeyOwnerCache): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get("/dashboard/api/keys", { schema: { hide: true } }, async (request, reply) => {
    const session = await guard.require(request, reply);
    reply.header("cache-control", "no-store");
    return { data: (await listApiKeys(context.db, session.merchant.id, context.mode)).map(keyJson) };
  });

  api.post("/dashboard/api/keys", { schema: { hide: true, body: keyBody } }, async (request, reply) => {
    const session = await guard.require(request, reply);
    const { key, record } = await issueKey(context.db, session.merchant.id, context.mode, request.body.name);
    return reply
      .code(201)
      .header("cache-control", "no-store")
      .send({ key, api_key: keyJson(record) });
  });

  api.post("/dashboard/api/keys/:id/revoke", { schema: { hide: true, params: keyParams } }, async (request, reply) => {
    const session = await guard.require(request, reply);
    await revokeKey(context.db, request.params.id, session.merchant.id);
    owners?.forget(request.params.id);
    return reply.code(204).send();
  });
}
