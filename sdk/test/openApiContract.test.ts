import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { useLocalChain } from "../../indexer/test/support/localChain";
import { sharedStackNewMerchantEachTest } from "../../indexer/test/support/merchantApiHelpers";
import { call } from "../../indexer/test/support/merchantApiStack";
import { GENERATED_TYPES_FILE, OPENAPI_FILE, generatedTypes, openApiText } from "../../scripts/exportOpenApi";

const ROOT = path.join(__dirname, "..", "..");
const STALE = "is stale: run `npm run openapi` and commit what it writes";

/** `redocly lint` of a document under the repository's redocly.yaml (recommended rules, warnings as errors). */
function redoclyLint(file: string): { status: number | null; output: string } {
  const linted = spawnSync(path.join(ROOT, "node_modules", ".bin", "redocly"), ["lint", "--format", "stylish", file], {
    cwd: ROOT,
    encoding: "utf8",
    // No telemetry or update check: the lint runs where only the npm registry is reachable.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  return { status: linted.status, output: `${linted.stdout}${linted.stderr}` };
}

describe("the merchants' contract: sdk/openapi.json and the SDK's types generated from it", function () {
  this.timeout(60_000);
  const chain = useLocalChain();
  const fixture = sharedStackNewMerchantEachTest(chain, "pglite");
  const committed = () => readFileSync(OPENAPI_FILE, "utf8");

  it("is the document the running API serves at /openapi.json", async function () {
    const served = await call(fixture().api, "GET", "/openapi.json");
    expect(served.status).to.equal(200);
    expect(committed(), `sdk/openapi.json ${STALE}`).to.equal(openApiText(served.body));
  });

  it("has sdk/src/generated/openapi.ts as openapi-typescript generates it from the document", async function () {
    expect(readFileSync(GENERATED_TYPES_FILE, "utf8"), `sdk/src/generated/openapi.ts ${STALE}`).to.equal(await generatedTypes(committed()));
  });

  it("names every operation for generated clients, once each", function () {
    const document = JSON.parse(committed());
    const operationIds = Object.values(document.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((operations) =>
      Object.values(operations).map((operation) => operation.operationId),
    );
    expect(operationIds).to.include.members(["createPayment", "getPayment", "listPayments", "createRefund", "getBalances", "createWithdrawal"]);
    expect(
      operationIds.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id)),
      String(operationIds),
    ).to.equal(true);
    expect(new Set(operationIds).size).to.equal(operationIds.length);
  });

  describe("redocly lint (recommended rules, no error and no warning)", function () {
    let folder = "";
    afterEach(function () {
      if (folder) rmSync(folder, { recursive: true, force: true });
    });

    it("passes sdk/openapi.json", function () {
      const linted = redoclyLint(OPENAPI_FILE);
      expect(linted.status, linted.output).to.equal(0);
    });

    it("fails a document that lost an operationId or its license, naming the rules", function () {
      const document = JSON.parse(committed());
      delete document.paths["/v1/payments"].post.operationId;
      delete document.info.license;
      folder = mkdtempSync(path.join(tmpdir(), "open-pay-openapi-"));
      const file = path.join(folder, "openapi.json");
      writeFileSync(file, JSON.stringify(document));
      const linted = redoclyLint(file);
      expect(linted.status, linted.output).to.not.equal(0);
      expect(linted.output).to.include("operation-operationId").and.include("info-license");
    });
  });
});
