import { expect } from "chai";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium } from "./browser";

/** What a describe block's browser tests use: pages on a phone's screen, and the URLs they asked for. */
export interface PhoneBrowser {
  /** This test's browser context (its cookies are the test's own). */
  context(): BrowserContext;
  /** A new page in this test's context, every request of which is noted. */
  newPage(): Promise<Page>;
  /** Checks that the pages asked for more than `atLeast` URLs, all under `origin` (nothing from another origin). */
  expectOnlyRequestsTo(origin: string, atLeast?: number): void;
}

/**
 * Chromium for the tests of the describe block that calls it: one browser for the block, a fresh context per test
 * at a phone's size (390 × 844), closed after it.
 */
export function usePhoneBrowser(): PhoneBrowser {
  let browser: Browser;
  let context: BrowserContext;
  let requested: string[] = [];
  before(async function () {
    browser = await launchChromium();
  });
  after(async function () {
    await browser?.close();
  });
  beforeEach(async function () {
    context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    requested = [];
  });
  afterEach(async function () {
    await context?.close();
  });
  return {
    context: () => context,
    newPage: async () => {
      const page = await context.newPage();
      page.on("request", (request) => requested.push(request.url()));
      return page;
    },
    expectOnlyRequestsTo: (origin, atLeast = 3) => {
      expect(requested.length).to.be.greaterThan(atLeast);
      for (const url of requested) expect(url.startsWith(`${origin}/`), url).to.equal(true);
    },
  };
}
