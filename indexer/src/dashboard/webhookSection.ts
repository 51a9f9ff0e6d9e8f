import { WEBHOOK_EVENT_TYPES } from "../payments/webhookEventTypes";

/**
 * The signed-in page's Webhooks section: the endpoint form (adding one, or editing the one chosen), the place a new
 * secret is shown once, and the delivery log with its resend. The script (browser/webhooks.ts) fills the endpoints
 * and deliveries from /dashboard/api/webhook_…; the event types are constants, nothing here needs escaping.
 */
export function webhookSection(): string {
  const types = WEBHOOK_EVENT_TYPES.map((type) => `<label class="check"><input type="checkbox" name="event_types" value="${type}"> ${type}</label>`).join("");
  return `<section id="webhooks" aria-labelledby="webhooks-heading">
      <h2 id="webhooks-heading" tabindex="-1">Webhooks</h2>
      <h3 id="endpoints-heading">Endpoints</h3>
      <ul id="webhook-endpoints" class="endpoints" aria-labelledby="endpoints-heading"></ul>
      <div id="webhook-secret" class="secret" hidden>
        <p id="webhook-secret-label"></p>
        <code id="webhook-secret-value"></code>
        <button type="button" id="webhook-secret-done" aria-describedby="webhook-secret-label">I have saved the secret</button>
      </div>
      <form id="endpoint-form" class="endpoint-form">
        <fieldset>
          <legend id="endpoint-form-legend">Add an endpoint</legend>
          <input type="hidden" name="id">
          <label>URL <input name="url" type="url" required autocomplete="off" placeholder="https://shop.example/webhooks/openpay"></label>
          <label>Description <input name="description" autocomplete="off" maxlength="500"></label>
          <fieldset class="event-types">
            <legend>Event types (none ticked: every type)</legend>
            ${types}
          </fieldset>
          <div class="actions">
            <button type="submit" id="endpoint-save">Add endpoint</button>
            <button type="button" id="endpoint-cancel" class="secondary" hidden>Cancel editing</button>
          </div>
        </fieldset>
      </form>
      <h3 id="deliveries-heading">Deliveries</h3>
      <form id="resend-failed-form" class="filters">
        <label>Resend every failed delivery since (UTC) <input name="since" type="datetime-local" step="1" required></label>
        <div class="actions">
          <button type="submit">Resend failed deliveries</button>
          <button type="button" id="refresh-deliveries" class="secondary">Refresh deliveries</button>
        </div>
      </form>
      <div id="webhook-deliveries-wrap"></div>
      <button type="button" id="more-deliveries" hidden>Show more deliveries</button>
      <section id="delivery-detail" aria-labelledby="delivery-heading" hidden></section>
    </section>`;
}
