import { expect } from "chai";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import hre from "hardhat";
import jsQR from "jsqr";
import { chromium, type Browser, type Page } from "playwright-core";
import { PNG } from "pngjs";

/** Debian's chromium (`apt-get install -y chromium`); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * Headless Chromium with the flags this machine needs: no sandbox as root, and none of the background connections
 * its closed network refuses. Playwright gives each launch a fresh profile.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: install Debian's (apt-get install -y chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Set SCREENSHOT=1 to write the screenshots the browser tests take to docs/images/<name>.png (for the docs). */
const SCREENSHOT_TO_DOCS = process.env.SCREENSHOT === "1";
const DOCS_IMAGES = path.join(__dirname, "..", "..", "..", "docs", "images");

/**
 * A screenshot of the whole page (full length), or of the element `selector` names, checked to hold a rendered page; with
 * SCREENSHOT=1 it also becomes docs/images/<name>.png.
 */
export async function pageScreenshot(page: Page, name: string, selector?: string): Promise<void> {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "open-pay-screenshot-")), `${name}.png`);
  if (selector) await page.locator(selector).screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
  expect(statSync(file).size).to.be.greaterThan(10_000);
  if (SCREENSHOT_TO_DOCS) {
    mkdirSync(DOCS_IMAGES, { recursive: true });
    copyFileSync(file, path.join(DOCS_IMAGES, `${name}.png`));
  }
}

/** The text of the QR code in a screenshot of `selector`. */
export async function decodeQr(page: Page, selector: string): Promise<string> {
  const png = PNG.sync.read(await page.locator(selector).screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data), png.width, png.height);
  if (!code) throw new Error(`no QR code could be read in ${selector}`);
  return code.data;
}

/**
 * A browser wallet (an EIP-1193 provider at `window.ethereum`) for `account`, backed by the local chain: what
 * MetaMask would do, minus the prompts. Like a wallet that lets its user send a transaction whose gas estimate
 * failed, it sends anyway with a gas limit of its own, and the chain mines it reverted: that is how a customer's
 * transaction fails in the wild (the price or the expiry moved between estimate and inclusion).
 */
export async function injectWallet(page: Page, account: string, chainId: number): Promise<{ sent: string[] }> {
  const sent: string[] = [];
  const provider = hre.network.provider;
  await page.exposeFunction("__openPayTestWallet", async (method: string, params: unknown[]) => {
    try {
      switch (method) {
        case "eth_requestAccounts":
        case "eth_accounts":
          return { result: [account] };
        case "eth_chainId":
          return { result: `0x${chainId.toString(16)}` };
        case "eth_estimateGas":
          return { result: await provider.send(method, params).catch(() => "0x7a120") };
        case "eth_sendTransaction": {
          // Mined in a block of its own whether it reverts or not (Hardhat would refuse a reverting one while automining).
          await provider.send("evm_setAutomine", [false]);
          try {
            const [request] = params as Array<Record<string, string>>;
            const hash = (await provider.send(method, [{ gas: "0x7a120", ...request, from: account }])) as string;
            await provider.send("evm_mine", []);
            sent.push(hash);
            return { result: hash };
          } finally {
            await provider.send("evm_setAutomine", [true]);
          }
        }
        default:
          return { result: await provider.send(method, params) };
      }
    } catch (error) {
      return { error: { code: -32603, message: error instanceof Error ? error.message : String(error) } };
    }
  });
  await page.addInitScript(() => {
    type Answer = { result?: unknown; error?: { code: number; message: string } };
    (window as unknown as { ethereum: unknown }).ethereum = {
      isOpenPayTestWallet: true,
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const call = (window as unknown as { __openPayTestWallet: (method: string, params: unknown[]) => Promise<Answer> }).__openPayTestWallet;
        const answer = await call(method, params ?? []);
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
        return answer.result;
      },
      on() {},
      removeListener() {},
    };
  });
  return { sent };
}
