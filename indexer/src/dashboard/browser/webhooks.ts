/**
 * The Webhooks section of the signed-in dashboard: the merchant's endpoints (add, edit, disable or enable, rotate the
 * secret, send a test event), the delivery log (every event with its deliveries and attempts, a page at a time), a
 * delivery's detail (the request's signature headers and payload, each response), and resending one delivery or every
 * failed one since a time. A secret is shown once, from the answer to a creation or rotation, and dropped from the page
 * when the merchant says they saved it; the gateway never sends it again.
 */
import { sendChange } from "./changeRequest";
import { element, problemOf, say } from "./elements";
import { attemptLine, time, webhookEventList, type WebhookAttempt, type WebhookDelivery, type WebhookEvent } from "./webhookEventList";

interface Endpoint {
  id: string;
  url: string;
  description: string | null;
  event_types: string[] | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: string | null;
  secret?: string;
}

interface EventPage {
  data: WebhookEvent[];
  has_more: boolean;
  next_cursor: string | null;
}

/** How much of an event's body the detail shows. */
const PAYLOAD_EXCERPT_CHARS = 1200;

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the detail says for an attempt without a response excerpt: the workers keep a failure's only. */
const responseBodyAbsent = ({ response_status: status }: WebhookAttempt) => (status !== null && status >= 200 && status < 300 ? "not kept for a success" : "—");

export function startWebhooks(): void {
  const list = byId<HTMLUListElement>("webhook-endpoints");
  const form = byId<HTMLFormElement>("endpoint-form");
  const legend = byId("endpoint-form-legend");
  const save = byId<HTMLButtonElement>("endpoint-save");
  const cancel = byId<HTMLButtonElement>("endpoint-cancel");
  const secretBox = byId("webhook-secret");
  const secretLabel = byId("webhook-secret-label");
  const secretValue = byId("webhook-secret-value");
  const deliveriesWrap = byId("webhook-deliveries-wrap");
  const more = byId<HTMLButtonElement>("more-deliveries");
  const detail = byId("delivery-detail");
  const resendFailedForm = byId<HTMLFormElement>("resend-failed-form");
  let endpoints: Endpoint[] = [];
  let events: WebhookEvent[] = [];
  let cursor: string | null = null;
  /** The delivery whose detail is open: its event and endpoint. */
  let opened: { eventId: string; endpointId: string } | null = null;

  /** An answer's JSON, or undefined after telling the merchant why `what` did not happen. */
  const answered = async <T>(what: string, answer: Response | undefined): Promise<T | undefined> => {
    if (answer?.ok) return (await answer.json()) as T;
    say(`${what}: ${answer ? await problemOf(answer) : "the gateway did not answer"}`, true);
    return undefined;
  };

  const hideSecret = () => {
    secretValue.textContent = "";
    secretBox.hidden = true;
  };
  const showSecret = (endpoint: Endpoint, why: string) => {
    secretLabel.textContent = `${why} The signing secret of ${endpoint.url} is shown only this once: store it where your endpoint verifies signatures.`;
    secretValue.textContent = endpoint.secret ?? "";
    secretBox.hidden = false;
    byId("webhook-secret-done").focus();
  };
  byId("webhook-secret-done").addEventListener("click", () => {
    hideSecret();
    say("The secret is no longer on the page.");
    byId("endpoints-heading").focus();
  });

  const button = (label: string, action: string, attributes: Record<string, string> = {}) =>
    element("button", { type: "button", "data-action": action, ...attributes }, label);

  const renderEndpoints = () => {
    if (endpoints.length === 0) {
      list.replaceChildren(element("li", { class: "empty" }, "No endpoint yet: add one below."));
      return;
    }
    list.replaceChildren(
      ...endpoints.map((endpoint) =>
        element(
          "li",
          { class: "endpoint", "data-endpoint": endpoint.id, "data-enabled": String(endpoint.enabled) },
          element("strong", { class: "hash" }, endpoint.url),
          element(
            "p",
            {},
            endpoint.description ? `${endpoint.description}. ` : "",
            element("code", {}, endpoint.id),
            ` · ${endpoint.event_types ? endpoint.event_types.join(", ") : "every event type"} · `,
            element("span", { class: "status", "data-status": endpoint.enabled ? "paid" : "failed" }, endpoint.enabled ? "enabled" : "disabled"),
            endpoint.disabled_reason ? ` (${endpoint.disabled_reason})` : "",
            endpoint.failing_since ? element("span", {}, ", failing since ", time(endpoint.failing_since)) : null,
          ),
          element(
            "div",
            { class: "actions", role: "group", "aria-label": `Endpoint ${endpoint.url}` },
            button("Edit", "edit"),
            button(endpoint.enabled ? "Disable" : "Enable", endpoint.enabled ? "disable" : "enable"),
            button("Rotate secret", "rotate"),
            button("Send test event", "test", endpoint.enabled ? {} : { disabled: "" }),
          ),
        ),
      ),
    );
  };

  const loadEndpoints = async () => {
    const page = await answered<{ data: Endpoint[] }>(
      "Endpoints not shown",
      await fetch("/dashboard/api/webhook_endpoints", { cache: "no-store" }).catch(() => undefined),
    );
    if (!page) return;
    endpoints = page.data;
    renderEndpoints();
  };

  const resetForm = () => {
    form.reset();
    (form.elements.namedItem("id") as HTMLInputElement).value = "";
    legend.textContent = "Add an endpoint";
    save.textContent = "Add endpoint";
    cancel.hidden = true;
  };
  cancel.addEventListener("click", () => {
    resetForm();
    byId("endpoints-heading").focus();
  });

  const edit = (endpoint: Endpoint) => {
    (form.elements.namedItem("id") as HTMLInputElement).value = endpoint.id;
    (form.elements.namedItem("url") as HTMLInputElement).value = endpoint.url;
    (form.elements.namedItem("description") as HTMLInputElement).value = endpoint.description ?? "";
    for (const box of form.querySelectorAll<HTMLInputElement>("input[name=event_types]")) box.checked = endpoint.event_types?.includes(box.value) ?? false;
    legend.textContent = `Edit ${endpoint.url}`;
    save.textContent = "Save changes";
    cancel.hidden = false;
    (form.elements.namedItem("url") as HTMLInputElement).focus();
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = new FormData(form);
    const id = String(fields.get("id") ?? "");
    const description = String(fields.get("description") ?? "").trim();
    const types = fields.getAll("event_types").map(String);
    save.disabled = true;
    say(id ? "Saving the endpoint…" : "Adding the endpoint…");
    // Editing, an empty field clears it (every type, no description); adding, it is left out.
    const body = id
      ? { url: String(fields.get("url")), description: description || null, event_types: types.length > 0 ? types : null }
      : { url: String(fields.get("url")), ...(description ? { description } : {}), ...(types.length > 0 ? { event_types: types } : {}) };
    const answer = await sendChange(id ? "PATCH" : "POST", id ? `/dashboard/api/webhook_endpoints/${id}` : "/dashboard/api/webhook_endpoints", body);
    save.disabled = false;
    const endpoint = await answered<Endpoint>(id ? "Endpoint not saved" : "Endpoint not added", answer);
    if (!endpoint) return;
    resetForm();
    await loadEndpoints();
    if (endpoint.secret) {
      say(`Endpoint ${endpoint.id} added.`);
      showSecret(endpoint, "Endpoint added.");
    } else say(`Endpoint ${endpoint.id} saved.`);
  });

  list.addEventListener("click", async (event) => {
    const target = (event.target as Element).closest<HTMLButtonElement>("button[data-action]");
    const endpoint = endpoints.find((each) => each.id === target?.closest<HTMLElement>("[data-endpoint]")?.dataset.endpoint);
    if (!target || !endpoint) return;
    const path = `/dashboard/api/webhook_endpoints/${endpoint.id}`;
    switch (target.dataset.action) {
      case "edit":
        return edit(endpoint);
      case "disable":
      case "enable": {
        const enabled = target.dataset.action === "enable";
        const changed = await answered<Endpoint>(`Endpoint not ${enabled ? "enabled" : "disabled"}`, await sendChange("PATCH", path, { enabled }));
        if (!changed) return;
        await loadEndpoints();
        say(`Endpoint ${endpoint.url} ${enabled ? "enabled" : "disabled"}.`);
        list.querySelector<HTMLButtonElement>(`[data-endpoint="${endpoint.id}"] button[data-action=${enabled ? "disable" : "enable"}]`)?.focus();
        return;
      }
      case "rotate": {
        if (!window.confirm(`Rotate the signing secret of ${endpoint.url}? The old secret keeps signing beside the new one for 24 hours.`)) return;
        const rotated = await answered<Endpoint>("Secret not rotated", await sendChange("POST", `${path}/rotate_secret`));
        if (!rotated) return;
        say(`Secret of ${endpoint.url} rotated.`);
        showSecret(rotated, "Secret rotated: the old one keeps signing beside it for 24 hours.");
        return;
      }
      case "test": {
        target.disabled = true;
        const sent = await answered<WebhookEvent>("Test event not sent", await sendChange("POST", `${path}/test`));
        target.disabled = false;
        if (!sent) return;
        say(`Test event ${sent.id} queued for ${endpoint.url}: refresh the deliveries to see it arrive.`);
        await loadDeliveries(true);
      }
    }
  });

  const deliveryActions = (event: WebhookEvent, delivery: WebhookDelivery) => [
    " ",
    button("Details", "detail", { "data-event": event.id, "data-endpoint": delivery.endpoint_id }),
    " ",
    button("Resend", "resend", { "data-event": event.id, "data-endpoint": delivery.endpoint_id }),
  ];

  const renderDeliveries = () => {
    deliveriesWrap.replaceChildren(
      events.length === 0
        ? element("p", { id: "webhook-deliveries" }, "No webhook events yet.")
        : webhookEventList(events, deliveryActions, "webhook-deliveries"),
    );
    more.hidden = cursor === null;
  };

  const loadDeliveries = async (reset: boolean) => {
    const query = new URLSearchParams({ limit: "20" });
    if (!reset && cursor) query.set("starting_after", cursor);
    const page = await answered<EventPage>(
      "Deliveries not shown",
      await fetch(`/dashboard/api/webhook_events?${query}`, { cache: "no-store" }).catch(() => undefined),
    );
    if (!page) return;
    events = reset ? page.data : [...events, ...page.data];
    cursor = page.has_more ? page.next_cursor : null;
    renderDeliveries();
  };
  more.addEventListener("click", () => void loadDeliveries(false));
  // The workers change endpoints too (one failing for days, or answering 410 Gone, is disabled): both are reloaded.
  byId("refresh-deliveries").addEventListener("click", async () => {
    await Promise.all([loadEndpoints(), loadDeliveries(true)]);
    if (opened) await showDetail(opened.eventId, opened.endpointId, false);
    say("Deliveries refreshed.");
  });

  const resend = async (eventId: string, endpointId: string) => {
    const done = await answered<{ deliveries: number }>(
      "Not resent",
      await sendChange("POST", `/dashboard/api/webhook_events/${eventId}/resend`, { endpoint_id: endpointId }),
    );
    if (!done) return;
    say(`Event ${eventId} queued again for ${endpointId}.`);
    await loadDeliveries(true);
  };

  const showDetail = async (eventId: string, endpointId: string, focus = true) => {
    const event = await answered<WebhookEvent>(
      "Delivery not shown",
      await fetch(`/dashboard/api/webhook_events/${eventId}`, { cache: "no-store" }).catch(() => undefined),
    );
    if (!event) return;
    // An event resent to the same endpoint has a delivery per sending: their attempts, in order.
    const deliveries = event.deliveries.filter((delivery) => delivery.endpoint_id === endpointId);
    const latest = deliveries[deliveries.length - 1];
    const attempts = deliveries.flatMap((delivery) => delivery.attempts);
    const payload = JSON.stringify(event.data, null, 2);
    const rows: Array<[string, Node | string]> = [
      ["Event type", event.type],
      ["webhook-id", element("code", {}, event.id)],
      ["Endpoint", element("code", {}, endpointId)],
      ["Status", element("span", { id: "delivery-status" }, latest?.status ?? "not delivered")],
      ["Next retry", latest?.next_attempt_at ? time(latest.next_attempt_at) : "—"],
      ["Last error", latest?.last_error ?? "—"],
    ];
    opened = { eventId, endpointId };
    detail.replaceChildren(
      element("h3", { id: "delivery-heading", tabindex: "-1" }, "Delivery of ", element("code", {}, event.id)),
      element("dl", { class: "account" }, ...rows.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)])),
      element("h4", {}, "Payload"),
      element(
        "pre",
        { id: "delivery-payload", class: "payload" },
        payload.length > PAYLOAD_EXCERPT_CHARS ? `${payload.slice(0, PAYLOAD_EXCERPT_CHARS)}…` : payload,
      ),
      element("h4", {}, "Attempts"),
      attempts.length === 0
        ? element("p", { id: "delivery-attempts" }, "Not attempted yet.")
        : element(
            "ol",
            { id: "delivery-attempts", class: "attempt-details" },
            ...attempts.map((attempt) =>
              element(
                "li",
                { "data-attempt": String(attempt.attempt), "data-response-status": String(attempt.response_status ?? "") },
                element("ul", { class: "attempts" }, attemptLine(attempt)),
                element(
                  "dl",
                  { class: "account" },
                  element("dt", {}, "webhook-timestamp"),
                  element("dd", {}, element("code", {}, String(Math.floor(Date.parse(attempt.at) / 1000)))),
                  element("dt", {}, "webhook-signature"),
                  element("dd", {}, element("code", { class: "signature" }, attempt.signature ?? "not recorded")),
                  element("dt", {}, "Response body"),
                  element("dd", {}, attempt.response_excerpt ? element("code", { class: "response" }, attempt.response_excerpt) : responseBodyAbsent(attempt)),
                ),
              ),
            ),
          ),
      element(
        "div",
        { class: "actions" },
        button("Resend this delivery", "resend-opened"),
        element("button", { type: "button", id: "close-delivery", class: "secondary" }, "Close"),
      ),
    );
    detail.hidden = false;
    if (focus) byId("delivery-heading").focus();
  };

  deliveriesWrap.addEventListener("click", (event) => {
    const target = (event.target as Element).closest<HTMLButtonElement>("button[data-action]");
    const { event: eventId, endpoint: endpointId } = target?.dataset ?? {};
    if (!target || !eventId || !endpointId) return;
    if (target.dataset.action === "detail") void showDetail(eventId, endpointId);
    if (target.dataset.action === "resend") void resend(eventId, endpointId);
  });
  detail.addEventListener("click", async (event) => {
    const target = (event.target as Element).closest("button");
    if (!target || !opened) return;
    if (target.id === "close-delivery") {
      detail.hidden = true;
      opened = null;
      byId("deliveries-heading").focus();
    } else if (target.dataset.action === "resend-opened") {
      await resend(opened.eventId, opened.endpointId);
      await showDetail(opened.eventId, opened.endpointId, false);
    }
  });

  resendFailedForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    // The field is read as UTC, as its label says (the payments' date filters are too).
    const since = new Date(`${String(new FormData(resendFailedForm).get("since"))}Z`);
    if (Number.isNaN(since.getTime())) return say("Resend failed deliveries: since must be a date and time.", true);
    const done = await answered<{ deliveries: number }>(
      "Failed deliveries not resent",
      await sendChange("POST", "/dashboard/api/webhook_events/resend_failed", { since: since.toISOString() }),
    );
    if (!done) return;
    say(`${done.deliveries} failed ${done.deliveries === 1 ? "delivery" : "deliveries"} since ${since.toISOString()} queued again.`);
    await loadDeliveries(true);
  });

  void loadEndpoints();
  void loadDeliveries(true);
}
