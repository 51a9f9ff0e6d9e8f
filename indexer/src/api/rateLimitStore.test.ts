import { expect } from "chai";
import { SnapshotLocalStore } from "./rateLimitStore";

describe("SnapshotLocalStore", function () {
  it("gives each of requests counted at once its own count, as the plugin reads them only after an await", function () {
    const store = new SnapshotLocalStore();
    const answers: Array<{ current: number; ttl: number }> = [];
    for (let i = 0; i < 6; i++) store.incr("key k", (_error, result) => answers.push(result!), 60_000, 5);
    // Read after every count, as six requests' hooks in one turn of the event loop would.
    expect(answers.map((answer) => answer.current)).to.deep.equal([1, 2, 3, 4, 5, 6]);
    for (const answer of answers) expect(answer.ttl).to.be.within(1, 60_000);
  });

  it("counts each key apart", function () {
    const store = new SnapshotLocalStore();
    const counts: number[] = [];
    for (const key of ["a", "b", "a"]) store.incr(key, (_error, result) => counts.push(result!.current), 60_000, 5);
    expect(counts).to.deep.equal([1, 1, 2]);
  });
});
