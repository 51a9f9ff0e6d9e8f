/**
 * Builds an element with attributes and children. Text is always set as text, never parsed as HTML: what a payment
 * carries (an order id, a description, a webhook's error) cannot become markup in the merchant's page.
 */
export function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string> = {},
  ...children: Array<Node | string | null | undefined>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

/** The error message of a gateway's JSON answer, or a sentence about the status. */
export async function problemOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    // not JSON
  }
  return `the gateway answered ${response.status}`;
}

/** Tells the page's live region what happened (screen readers read it out). */
export function say(text: string, error = false): void {
  const status = document.getElementById("dashboard-status");
  if (!status) return;
  status.textContent = text;
  if (error) status.dataset.state = "error";
  else delete status.dataset.state;
}
