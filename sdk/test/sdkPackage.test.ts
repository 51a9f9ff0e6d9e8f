import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { expect } from "chai";
import { useLocalChain } from "../../indexer/test/support/localChain";
import { sharedStackNewMerchantEachTest } from "../../indexer/test/support/merchantApiHelpers";
import { call } from "../../indexer/test/support/merchantApiStack";

const ROOT = path.join(__dirname, "..", "..");
const SDK = path.join(ROOT, "sdk");

/** Runs a command to its end; throws with its output when it fails. */
function run(command: string, args: string[], cwd: string): string {
  const done = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (done.status !== 0) throw new Error(`${command} ${args.join(" ")} in ${cwd} exited ${done.status}:\n${done.stdout}${done.stderr}`);
  return done.stdout;
}

/**
 * tsc over files of the consumer, as a project of its own would run it: the exit status and the diagnostics. Library
 * declarations are not checked one by one (that is slow), but a type they fail to resolve would turn into `any` and
 * let a wrong value through, which the tests below look for.
 */
function typeCheck(consumer: string, files: string[]): { status: number | null; output: string } {
  const tsc = path.join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const options = ["--noEmit", "--strict", "--skipLibCheck", "--target", "es2022", "--module", "commonjs", "--moduleResolution", "node"];
  const types = ["--types", "node", "--typeRoots", path.join(ROOT, "node_modules", "@types")];
  const checked = spawnSync(process.execPath, [tsc, ...options, ...types, ...files], { cwd: consumer, encoding: "utf8" });
  return { status: checked.status, output: `${checked.stdout}${checked.stderr}` };
}

describe("@openpay/sdk as a package: packed with npm pack, installed in another folder", function () {
  this.timeout(120_000);
  const chain = useLocalChain();
  const fixture = sharedStackNewMerchantEachTest(chain, "pglite");
  let consumer = "";
  let packed: string[] = [];

  before(function () {
    consumer = mkdtempSync(path.join(tmpdir(), "open-pay-sdk-consumer-"));
    // prepack builds dist/ with the SDK's own tsconfig.json.
    const output = run("npm", ["pack", "--json", "--pack-destination", consumer], SDK);
    const [tarball] = JSON.parse(output.slice(output.indexOf("["))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = tarball.files.map((file) => file.path);
    writeFileSync(path.join(consumer, "package.json"), JSON.stringify({ name: "open-pay-sdk-consumer", private: true }));
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", `./${tarball.filename}`], consumer);
  });
  after(function () {
    if (consumer) rmSync(consumer, { recursive: true, force: true });
  });

  it("holds the compiled SDK with its declarations and the OpenAPI document, not its TypeScript sources or tests", function () {
    expect(packed).to.include.members(["package.json", "README.md", "openapi.json", "dist/index.js", "dist/index.d.ts", "dist/generated/openapi.d.ts"]);
    const unexpected = packed.filter((file) => !["package.json", "README.md", "openapi.json"].includes(file) && !/^dist\/.+\.(js|d\.ts)$/.test(file));
    expect(unexpected).to.deep.equal([]);
  });

  it("creates a payment from plain JavaScript through the installed package", async function () {
    const program = [
      'const { OpenPay, OpenPayError } = require("@openpay/sdk");',
      "const openPay = new OpenPay({ apiKey: process.env.OPENPAY_KEY, baseUrl: process.env.OPENPAY_URL });",
      'openPay.createPayment({ amount_usd: "12.34", order_id: "packed-1" })',
      "  .then((payment) => console.log(JSON.stringify({ id: payment.id, errorClass: typeof OpenPayError })))",
      "  .catch((error) => { console.error(error); process.exitCode = 1; });",
    ].join("\n");
    // Not spawnSync: the API answering the child runs in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ["-e", program], {
      cwd: consumer,
      env: { ...process.env, OPENPAY_KEY: fixture().key, OPENPAY_URL: fixture().api.url },
    });
    const { id, errorClass } = JSON.parse(stdout);
    expect(errorClass).to.equal("function");
    const stored = await call(fixture().api, "GET", `/v1/payments/${id}`, { key: fixture().key });
    expect(stored.status).to.equal(200);
    expect(stored.body).to.include({ amount_usd: "12.34", order_id: "packed-1" });
  });

  it("types a TypeScript program against the installed declarations, and refuses a status the API does not have", function () {
    writeFileSync(
      path.join(consumer, "shop.ts"),
      [
        'import { OpenPay, type Payment, type PaymentStatus, type WebhookEvent } from "@openpay/sdk";',
        'const openPay = new OpenPay({ apiKey: "op_test_example", baseUrl: "http://127.0.0.1:8080" });',
        "export async function paidRefunds(): Promise<string[]> {",
        '  const payment: Payment = await openPay.createPayment({ amount_usd: "1.00", tokens: ["USDT"] });',
        "  const status: PaymentStatus = payment.status;",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: this is the consumer's TypeScript source, template literal and all
        "  return [status, ...payment.refunds.map((entry) => `${entry.kind} ${entry.amount_units}`)];",
        "}",
        'export const isPaid = (event: WebhookEvent) => event.type === "payment.completed" && event.data.status === "paid";',
        "",
      ].join("\n"),
    );
    writeFileSync(path.join(consumer, "typo.ts"), 'import type { PaymentStatus } from "@openpay/sdk";\nexport const status: PaymentStatus = "settled";\n');
    const checked = typeCheck(consumer, ["shop.ts", "typo.ts"]);
    expect(checked.status).to.not.equal(0);
    const errors = checked.output.split("\n").filter((line) => line.includes("error TS"));
    expect(errors, checked.output).to.have.length(1);
    expect(errors[0]).to.match(/^typo\.ts\(2,14\): error TS2322: Type '"settled"' is not assignable to type/);
  });
});
