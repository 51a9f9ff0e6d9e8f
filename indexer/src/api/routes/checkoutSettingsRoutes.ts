import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { checkoutSettingsOf, updateCheckoutSettings, type CheckoutSettings } from "../../store/merchantStore";
import type { ApiContext } from "../apiContext";
import { notFound } from "../../ledger/apiErrors";
import { checkoutSettingsSchema, errorSchema, updateCheckoutSettingsBody } from "../apiSchemas";

const errors = { 400: errorSchema, 401: errorSchema, 403: errorSchema, 404: errorSchema, 429: errorSchema };

function settingsJson(settings: CheckoutSettings) {
  return { object: "checkout_settings" as const, checkout_frame_origins: settings.frameOrigins, site_url: settings.siteUrl };
}

/** The merchant's checkout settings: the origins that may frame its checkout pages, and its shop's address. */
export function checkoutSettingsRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    "/v1/checkout_settings",
    {
      schema: {
        tags: ["checkout"],
        operationId: "getCheckoutSettings",
        summary: "The checkout's settings: who may frame it, where it returns the shopper",
        response: { 200: checkoutSettingsSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      const settings = await checkoutSettingsOf(context.db, owner.merchant.id);
      if (!settings) throw notFound("merchant", owner.merchant.id);
      return settingsJson(settings);
    },
  );

  api.patch(
    "/v1/checkout_settings",
    {
      schema: {
        tags: ["checkout"],
        operationId: "updateCheckoutSettings",
        summary: "Change the checkout's settings (the fields given; the others stay)",
        body: updateCheckoutSettingsBody,
        response: { 200: checkoutSettingsSchema, ...errors },
      },
    },
    async (request) => {
      const owner = await context.auth.owner(request);
      const body = request.body;
      const settings = await updateCheckoutSettings(context.db, owner.merchant.id, {
        // One origin listed twice is one origin.
        frameOrigins: body.checkout_frame_origins === undefined ? undefined : [...new Set(body.checkout_frame_origins)],
        siteUrl: body.site_url,
      });
      if (!settings) throw notFound("merchant", owner.merchant.id);
      return settingsJson(settings);
    },
  );
}
