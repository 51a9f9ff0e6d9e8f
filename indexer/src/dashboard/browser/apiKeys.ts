/**
 * The API keys of the signed-in dashboard: the list from /dashboard/api/keys, the form that creates a named key (the
 * key is shown in the page this once, never stored by it, and gone on reload), and each active key's Revoke button.
 */
import { element, problemOf, say } from "./elements";
import { sendChange } from "./changeRequest";

interface KeyJson {
  id: string;
  name: string;
  prefix: string;
  mode: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const time = (iso: string | null, none: string) => (iso ? new Date(iso).toISOString().replace("T", " ").slice(0, 16) : none);

/** Fills the list and wires the form. */
export function startApiKeys(): void {
  const form = document.getElementById("create-key") as HTMLFormElement;
  const body = document.querySelector("#key-list tbody")!;
  const shown = document.getElementById("new-key")!;
  const value = document.getElementById("new-key-value")!;

  const load = async () => {
    const answer = await fetch("/dashboard/api/keys", { cache: "no-store" });
    if (!answer.ok) return say(`Keys not shown: ${await problemOf(answer)}`, true);
    const { data } = (await answer.json()) as { data: KeyJson[] };
    body.replaceChildren(
      ...data.map((key) => {
        const revoke = key.revoked_at ? null : element("button", { type: "button", "data-key": key.id, "aria-label": `Revoke ${key.name}` }, "Revoke");
        return element(
          "tr",
          { "data-key": key.id },
          element("td", {}, key.name),
          element("td", {}, element("code", {}, `${key.prefix}…`)),
          element("td", {}, key.mode),
          element("td", {}, time(key.created_at, "")),
          element("td", { class: "last-used" }, time(key.last_used_at, "never")),
          element("td", {}, key.revoked_at ? `revoked ${time(key.revoked_at, "")}` : "active", revoke ? " " : "", revoke),
        );
      }),
    );
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = String(new FormData(form).get("name") ?? "");
    void (async () => {
      const answer = await sendChange("POST", "/dashboard/api/keys", { name });
      if (!answer) return say("Key not created: the gateway did not answer.", true);
      if (!answer.ok) return say(`Key not created: ${await problemOf(answer)}`, true);
      const { key, api_key } = (await answer.json()) as { key: string; api_key: KeyJson };
      value.textContent = key;
      shown.hidden = false;
      form.reset();
      await load();
      say(`Key "${api_key.name}" created: copy it now, it is shown this once.`);
    })();
  });

  body.addEventListener("click", (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>("button[data-key]");
    if (!button) return;
    button.disabled = true;
    void (async () => {
      const answer = await sendChange("POST", `/dashboard/api/keys/${encodeURIComponent(button.dataset.key!)}/revoke`);
      if (!answer?.ok) {
        button.disabled = false;
        return say(`Key not revoked: ${answer ? await problemOf(answer) : "the gateway did not answer."}`, true);
      }
      await load();
      say("Key revoked: the API refuses it from now on.");
    })();
  });

  void load();
}
