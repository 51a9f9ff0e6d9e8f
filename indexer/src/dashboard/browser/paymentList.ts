/**
 * The payments list of the signed-in dashboard: the filter form becomes the query of /dashboard/api/payments (and of
 * the CSV export's link), pages are fetched by cursor and appended, and each row links to the payment's page.
 */
import { element, problemOf, say } from "./elements";

/** The fields of a payment the list shows (the API's payment resource has more). */
interface ListedPayment {
  id: string;
  created_at: string;
  order_id: string | null;
  amount_usd: string;
  status: string;
  token: { symbol: string } | null;
}

interface PaymentPage {
  data: ListedPayment[];
  has_more: boolean;
  next_cursor: string | null;
}

/** The next day of a yyyy-mm-dd date, at midnight UTC: "created until" includes its whole day. */
const dayAfter = (date: string) => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString();

/** The list's query for the form's filters (empty fields left out). */
export function filterQuery(form: HTMLFormElement): URLSearchParams {
  const fields = new FormData(form);
  const query = new URLSearchParams();
  for (const name of ["search", "status", "token", "order_id", "amount_min", "amount_max"]) {
    const value = String(fields.get(name) ?? "").trim();
    if (value) query.set(name, value);
  }
  const from = String(fields.get("created_from") ?? "");
  const until = String(fields.get("created_until") ?? "");
  if (from) query.set("created_from", `${from}T00:00:00Z`);
  if (until) query.set("created_to", dayAfter(until));
  return query;
}

export function startPaymentList(open: (id: string) => void): void {
  const form = document.getElementById("payment-filters") as HTMLFormElement;
  const body = document.querySelector<HTMLTableSectionElement>("#payment-list tbody")!;
  const more = document.getElementById("more-payments") as HTMLButtonElement;
  const exportLink = document.getElementById("export-csv") as HTMLAnchorElement;
  let query = new URLSearchParams();
  let cursor: string | null = null;

  const row = (payment: ListedPayment) => {
    const link = element("a", { href: `/dashboard?payment=${payment.id}`, "aria-label": `Payment ${payment.id}` }, `${payment.id.slice(0, 10)}…`);
    link.addEventListener("click", (event) => {
      event.preventDefault();
      open(payment.id);
    });
    return element(
      "tr",
      { "data-payment": payment.id },
      element("td", {}, element("time", { datetime: payment.created_at }, new Date(payment.created_at).toLocaleString())),
      element("td", {}, payment.order_id ?? "—"),
      element("td", { class: "amount" }, payment.amount_usd),
      element("td", {}, element("span", { class: "status", "data-status": payment.status }, payment.status.replace("_", " "))),
      element("td", {}, payment.token?.symbol ?? "—"),
      element("td", {}, link),
    );
  };

  /** Fetches the next page (or the first, after `reset`) and shows it. */
  const load = async (reset: boolean) => {
    if (reset) {
      query = filterQuery(form);
      cursor = null;
      exportLink.href = `/dashboard/api/payments.csv${query.size ? `?${query}` : ""}`;
    }
    const page = new URLSearchParams(query);
    if (cursor) page.set("starting_after", cursor);
    say("Loading payments…");
    const answer = await fetch(`/dashboard/api/payments?${page}`, { cache: "no-store" }).catch(() => undefined);
    if (!answer?.ok) return say(`Payments not loaded: ${answer ? await problemOf(answer) : "the gateway did not answer"}`, true);
    const list = (await answer.json()) as PaymentPage;
    if (reset) body.replaceChildren();
    body.append(...list.data.map(row));
    cursor = list.next_cursor;
    more.hidden = !list.has_more;
    const shown = body.rows.length;
    say(shown === 0 ? "No payments match these filters." : `${shown} payment${shown === 1 ? "" : "s"} shown${list.has_more ? "; more to show" : ""}.`);
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void load(true);
  });
  more.addEventListener("click", () => void load(false));
  void load(true);
}
