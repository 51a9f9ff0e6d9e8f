import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { signDelivery } from "../../indexer/src/webhooks/signing";
import { useLocalChain } from "../../indexer/test/support/localChain";
import { sharedStackNewMerchantEachTest } from "../../indexer/test/support/merchantApiHelpers";
import { call } from "../../indexer/test/support/merchantApiStack";
import { eventually } from "../../indexer/test/support/webhookFixtures";
import { freePort } from "../../scripts/stack/portAvailability";

const ROOT = path.join(__dirname, "..", "..");

/** The first TypeScript block under `heading` in docs/sdk.md. */
function documentedCode(heading: string): string {
  const doc = readFileSync(path.join(ROOT, "docs", "sdk.md"), "utf8");
  const section = doc.slice(doc.indexOf(`## ${heading}\n`));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`docs/sdk.md has no ts block under "## ${heading}"`);
  return match[1];
}

describe("docs/sdk.md: the 20-line integration, run as written", function () {
  this.timeout(60_000);
  const chain = useLocalChain();
  const fixture = sharedStackNewMerchantEachTest(chain, "pglite");
  let shop: ChildProcess | undefined;
  let folder = "";
  afterEach(function () {
    shop?.kill();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it("is at most 20 lines, creates the payment and redirects to the checkout, and verifies the signed webhook", async function () {
    const code = documentedCode("In 20 lines");
    expect(code.trimEnd().split("\n").length).to.be.at.most(20);
    folder = mkdtempSync(path.join(tmpdir(), "open-pay-docs-"));
    const file = path.join(folder, "shop.ts");
    writeFileSync(file, code.replace('"@openpay/sdk"', JSON.stringify(path.join(ROOT, "sdk", "src"))));
    const port = await freePort("127.0.0.1");
    const secret = `whsec_${randomBytes(24).toString("base64")}`;
    let output = "";
    shop = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", file], {
      cwd: ROOT,
      env: { ...process.env, OPENPAY_KEY: fixture().key, OPENPAY_URL: fixture().api.url, OPENPAY_WEBHOOK_SECRET: secret, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    shop.stdout!.on("data", (chunk) => (output += chunk));
    shop.stderr!.on("data", (chunk) => (output += chunk));
    const url = `http://127.0.0.1:${port}`;
    let bought: Response | undefined;
    for (let tries = 0; !bought && tries < 200; tries++) {
      bought = await fetch(`${url}/buy`, { method: "POST", redirect: "manual" }).catch(() => new Promise<undefined>((resolve) => setTimeout(resolve, 100)));
    }
    expect(bought, output).to.not.equal(undefined);
    expect(bought!.status).to.equal(303);
    const location = bought!.headers.get("location")!;
    const id = /\/checkout\/(0x[0-9a-f]{64})$/.exec(location)?.[1];
    expect(id, location).to.be.a("string");
    const payment = await call(fixture().api, "GET", `/v1/payments/${id}`, { key: fixture().key });
    expect(payment.body).to.include({ order_id: "1042", amount_usd: "25.00" });

    const body = JSON.stringify({
      type: "payment.completed",
      timestamp: new Date().toISOString(),
      data: { ...payment.body, status: "paid", received_usd: "25.00" },
    });
    const signed = signDelivery({ id: "msg_docs1", body, secrets: [secret] });
    const delivered = await fetch(`${url}/webhooks/openpay`, { method: "POST", headers: { "content-type": "application/json", ...signed }, body });
    expect(delivered.status).to.equal(204);
    const forged = await fetch(`${url}/webhooks/openpay`, {
      method: "POST",
      headers: { "content-type": "application/json", ...signed },
      body: body.replace("25.00", "0.01"),
    });
    expect(forged.status).to.equal(400);
    // The child's console output crosses a pipe: give it a moment.
    await eventually("the shop logs the paid order", () => output.includes("order 1042 paid"), 5_000);
    expect(output).to.include("order 1042 paid: $25.00");
  });
});
