import { expect } from "chai";
import { RESYNC } from "../store/database";
import { CheckoutFeed, type FeedState } from "./checkoutFeed";

interface State extends FeedState {
  n: number;
}

/** A feed over states the test sets, whose reads resolve when the test says. */
function feedOf(states: Map<string, State>) {
  const reads: string[] = [];
  let release: Array<() => void> = [];
  const feed = new CheckoutFeed<State>(async (id) => {
    reads.push(id);
    await new Promise<void>((resolve) => release.push(resolve));
    return states.get(id);
  });
  const settle = async () => {
    for (let i = 0; i < 10; i++) {
      const pending = release;
      release = [];
      for (const resolve of pending) resolve();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { feed, reads, settle };
}

/** The pages the heartbeat reaches. */
function openPages(feed: CheckoutFeed<State>): number {
  let count = 0;
  feed.forEach(() => {
    count += 1;
  });
  return count;
}

describe("the checkout feed (NOTIFY fanned out to open pages)", function () {
  it("reads a payment once per notification however many pages show it, and sends only what changed", async function () {
    const states = new Map([["a", { status: "pending", expiry: 100, n: 1 }]]);
    const { feed, reads, settle } = feedOf(states);
    const first: string[] = [];
    const second: string[] = [];
    feed.subscribe("a", (json) => first.push(json));
    await settle();
    feed.subscribe("a", (json) => second.push(json));
    await settle();
    // The second page is sent the state already read.
    expect(reads).to.deep.equal(["a"]);
    expect(first.map((json) => JSON.parse(json).n)).to.deep.equal([1]);
    expect(second.map((json) => JSON.parse(json).n)).to.deep.equal([1]);
    expect(openPages(feed)).to.equal(2);

    feed.notified("a");
    await settle();
    expect(first).to.have.length(1);
    states.set("a", { status: "confirming", expiry: 100, n: 2 });
    feed.notified("a");
    await settle();
    expect(first.map((json) => JSON.parse(json).n)).to.deep.equal([1, 2]);
    expect(second.map((json) => JSON.parse(json).n)).to.deep.equal([1, 2]);
    expect(reads).to.deep.equal(["a", "a", "a"]);
    // Another payment's notification reads nothing.
    feed.notified("b");
    await settle();
    expect(reads).to.have.length(3);
  });

  it("reads again after a read when notified during it, so that no change is missed", async function () {
    const states = new Map([["a", { status: "pending", expiry: 100, n: 1 }]]);
    const { feed, reads, settle } = feedOf(states);
    const sent: number[] = [];
    feed.subscribe("a", (json) => sent.push(JSON.parse(json).n));
    // Notified twice while the first read is under way: one more read, not two.
    feed.notified("a");
    states.set("a", { status: "pending", expiry: 100, n: 2 });
    feed.notified("a");
    await settle();
    expect(reads).to.deep.equal(["a", "a"]);
    expect(sent.at(-1)).to.equal(2);
  });

  it("on a new head, reads only the pages it can change: confirming ones, and open ones past their expiry", async function () {
    const states = new Map([
      ["confirming", { status: "confirming", expiry: 100, n: 1 }],
      ["due", { status: "pending", expiry: 100, n: 1 }],
      ["later", { status: "initiated", expiry: 500, n: 1 }],
      ["paid", { status: "paid", expiry: 100, n: 1 }],
    ]);
    const { feed, reads, settle } = feedOf(states);
    for (const id of states.keys()) feed.subscribe(id, () => undefined);
    await settle();
    reads.length = 0;
    feed.notified("head:200");
    await settle();
    expect(reads.sort()).to.deep.equal(["confirming", "due"]);
  });

  it("reads every open page again when the LISTEN session was lost and opened again", async function () {
    const { feed, reads, settle } = feedOf(
      new Map([
        ["a", { status: "paid", expiry: 100, n: 1 }],
        ["b", { status: "pending", expiry: 900, n: 1 }],
      ]),
    );
    feed.subscribe("a", () => undefined);
    feed.subscribe("b", () => undefined);
    await settle();
    reads.length = 0;
    feed.notified(RESYNC);
    await settle();
    expect(reads.sort()).to.deep.equal(["a", "b"]);
  });

  it("forgets a payment when its last page closes", async function () {
    const { feed, reads, settle } = feedOf(new Map([["a", { status: "pending", expiry: 100, n: 1 }]]));
    const close = feed.subscribe("a", () => undefined);
    await settle();
    close();
    expect(openPages(feed)).to.equal(0);
    feed.notified("a");
    await settle();
    expect(reads).to.have.length(1);
  });
});
