import { expect } from "chai";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openStore } from "../../indexer/src/store/database";
import { createMerchant } from "../../indexer/src/store/merchantStore";
import { freshDatabase } from "./databaseTemplate";

describe("the local stack's database template", function () {
  let root: string;
  beforeEach(() => (root = mkdtempSync(path.join(tmpdir(), "open-pay-template-"))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it("gives each start its own migrated, empty copy, made once per key; a new key replaces the old template", async function () {
    const templates = path.join(root, "templates");
    const first = path.join(root, "first");
    await freshDatabase(first, { dir: templates, key: "one" });
    expect(readdirSync(templates)).to.deep.equal(["pglite-one"]);
    const store = await openStore({ dataDir: first });
    try {
      expect(await store.db.selectFrom("merchants").selectAll().execute()).to.deep.equal([]);
      await createMerchant(store.db, { name: "Shop", address: "0x90F79bf6EB2c4f870365E785982E1f101E93b906" });
    } finally {
      await store.close();
    }

    // The same key copies the same template: a file left in it shows it was not made again.
    writeFileSync(path.join(templates, "pglite-one", "seen"), "");
    const second = path.join(root, "second");
    await freshDatabase(second, { dir: templates, key: "one" });
    expect(existsSync(path.join(second, "seen"))).to.equal(true);

    await freshDatabase(path.join(root, "third"), { dir: templates, key: "two" });
    expect(readdirSync(templates)).to.deep.equal(["pglite-two"]);
  });
});
