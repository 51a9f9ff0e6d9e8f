import { expect } from "chai";
import { createShutdown } from "./shutdown";

describe("createShutdown", () => {
  it("runs the teardowns once, last registered first, and keeps the first kill's code", async () => {
    const order: string[] = [];
    const shutdown = createShutdown(() => undefined);
    shutdown.add(() => order.push("database"));
    shutdown.add(async () => {
      await Promise.resolve();
      order.push("api");
    });
    shutdown.add(() => order.push("worker"));
    expect(shutdown.signal.aborted).to.equal(false);
    const first = shutdown.kill(4);
    expect(shutdown.signal.aborted, "loops are told at once").to.equal(true);
    await Promise.all([first, shutdown.kill(0), shutdown.kill(3)]);
    expect(order).to.deep.equal(["worker", "api", "database"]);
    expect(shutdown.code).to.equal(4);
  });

  it("runs every teardown when one fails, and reports the failure", async () => {
    const errors: unknown[] = [];
    const ran: string[] = [];
    const shutdown = createShutdown((error) => errors.push(error));
    shutdown.add(() => ran.push("store"));
    shutdown.add(() => {
      throw new Error("close failed");
    });
    await shutdown.kill();
    expect(ran).to.deep.equal(["store"]);
    expect(errors.map((error) => (error as Error).message)).to.deep.equal(["close failed"]);
    expect(shutdown.code).to.equal(0);
  });

  it("tears down at once what registers after the shutdown began", async () => {
    const ran: string[] = [];
    const shutdown = createShutdown(() => undefined);
    await shutdown.kill(2);
    shutdown.add(() => ran.push("late"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(ran).to.deep.equal(["late"]);
  });
});
