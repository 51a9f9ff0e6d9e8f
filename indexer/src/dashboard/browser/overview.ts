/**
 * At a glance: the page sends the section with its heading only; its figures, the indexer's health and the charts
 * (with their tables) are drawn by the gateway (overviewSection.ts) and put in here once they come.
 */
import { problemOf } from "./elements";

/** Fills the section from GET /dashboard/api/overview.html, or says in it why not. */
export async function loadOverview(): Promise<void> {
  const section = document.getElementById("overview")!;
  const answer = await fetch("/dashboard/api/overview.html", { cache: "no-store" }).catch((error: Error) => error);
  if (answer instanceof Response && answer.ok) {
    // The gateway's own markup, every figure and name in it escaped there (as the checkout's progress is).
    section.innerHTML = await answer.text();
  } else {
    const health = document.getElementById("indexer-health")!;
    health.textContent = `Your figures could not be loaded: ${answer instanceof Response ? await problemOf(answer) : answer.message}. Reload the page to try again.`;
    health.dataset.state = "error";
  }
  section.removeAttribute("aria-busy");
}
