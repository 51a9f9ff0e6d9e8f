import { expect } from "chai";
import hre from "hardhat";
import { createPublicClient, http, parseAbi, type Address, type Hash, type Log } from "viem";
import { ChainRecording } from "./support/chainRecording";
import { FaultyRpcProxy, type LieRule, type ProxyOptions } from "./support/faultyRpcProxy";
import { mine, revertTo, snapshot, useLocalChain } from "./support/localChain";

const ALICE: Address = "0x00000000000000000000000000000000000a11ce";
const BOB: Address = "0x0000000000000000000000000000000000000b0b";
const BALANCE_OF = parseAbi(["function balanceOf(address) view returns (uint256)"]);

/** A log by where it is: two branches' logs at one height differ by block hash. */
const where = (log: Pick<Log, "blockHash" | "logIndex">) => `${log.blockHash}/${log.logIndex}`;

/** What a call came to: its result's name, or its error's. */
async function outcome(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "answered";
  } catch (error) {
    return (error as Error).name;
  }
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return response.json();
}

/**
 * Providers that lie about the chain rather than fail: the proxy's lies, each against a real Hardhat chain read
 * through viem, asserting what a lying provider says next to what the node says.
 */
describe("the faulty RPC proxy's lies about the chain", function () {
  this.timeout(60_000);
  const chain = useLocalChain();
  let proxies: FaultyRpcProxy[] = [];

  const proxy = async (options: Omit<ProxyOptions, "upstream"> = {}) => {
    const started = await FaultyRpcProxy.start({ upstream: chain().url, seed: 1, ...options });
    proxies.push(started);
    return started;
  };
  /** viem without retries or caches, so that every read is one call the proxy judges. */
  const client = (url: string) => createPublicClient({ transport: http(url, { retryCount: 0 }), cacheTime: 0 });
  const node = () => client(chain().url);
  const token = () => chain().record.tokens.USDT.address as Address;
  const transfers = (url: string, from: number, to: number) => client(url).getLogs({ address: token(), fromBlock: BigInt(from), toBlock: BigInt(to) });
  const head = async () => Number(await node().getBlockNumber());
  const hashAt = async (height: number) => (await node().getBlock({ blockNumber: BigInt(height) })).hash;

  /** Mines `blocks` blocks of one token mint each (automining): one Transfer log a block. */
  async function mintBlocks(blocks: number, to: Address, amount = 1n) {
    const usdt = await hre.ethers.getContractAt("TestToken", token());
    for (let i = 0; i < blocks; i++) await (await usdt.mint(to, amount)).wait();
  }

  /** Mines one block holding `mints` token mints: one block of several logs. */
  async function mintInOneBlock(mints: number, to: Address) {
    const usdt = await hre.ethers.getContractAt("TestToken", token());
    await hre.network.provider.send("evm_setAutomine", [false]);
    for (let i = 0; i < mints; i++) await usdt.mint(to, BigInt(i + 1));
    await mine();
    await hre.network.provider.send("evm_setAutomine", [true]);
  }

  /**
   * A block with a mint (`base`, shared by both branches), then the old branch: 4 blocks of mints to Alice; `seeOld`
   * runs on it; then the chain goes back to `base` and mines the new branch: 3 blocks of mints to Bob and 2 empty
   * ones. (Different transactions make different blocks: Hardhat re-mines identical empty blocks with the same hash.)
   */
  async function reorganise(seeOld: (base: number) => Promise<void> = async () => undefined) {
    await mintBlocks(1, ALICE, 7n);
    const base = await head();
    const fork = await snapshot();
    await mintBlocks(4, ALICE);
    const old = await Promise.all([1, 2, 3, 4].map((k) => hashAt(base + k)));
    const oldLogs = await transfers(chain().url, base + 1, base + 4);
    await seeOld(base);
    await revertTo(fork);
    await mintBlocks(3, BOB);
    await mine(2);
    const fresh = await Promise.all([1, 2, 3, 4, 5].map((k) => hashAt(base + k)));
    expect(old[0], "the branches differ from their first block").to.not.equal(fresh[0]);
    /** Old and new hashes by height. */
    const at = (hashes: Hash[]) => (height: number) => hashes[height - base - 1];
    return { base, old: at(old), fresh: at(fresh), oldLogs };
  }

  afterEach(async function () {
    await Promise.all(proxies.map((p) => p.close()));
    proxies = [];
  });

  it("answers log range queries with nothing, leaving queries by block hash alone, and the reverse", async function () {
    const p = await proxy({ lies: [{ lie: { kind: "empty-logs" }, queries: "range" }] });
    const from = (await head()) + 1;
    await mintBlocks(3, ALICE);
    const truth = await transfers(chain().url, from, from + 2);
    expect(truth).to.have.length(3);

    expect(await transfers(p.url, from, from + 2)).to.deep.equal([]);
    for (const log of truth) expect(await client(p.url).getLogs({ blockHash: log.blockHash! })).to.have.length(1);
    // A range without logs is no lie: not counted.
    expect(await transfers(p.url, 1, 1)).to.deep.equal([]);
    expect(p.stats.emptiedLogQueries).to.equal(1);

    p.configure({ lies: [{ lie: { kind: "empty-logs" }, queries: "blockHash" }] });
    expect((await transfers(p.url, from, from + 2)).map(where)).to.deep.equal(truth.map(where));
    for (const log of truth) expect(await client(p.url).getLogs({ blockHash: log.blockHash! })).to.deep.equal([]);
    expect(p.stats.emptiedLogQueries).to.equal(4);
    expect(p.lies).to.equal(4);
    expect(p.logQueries.map((query) => query.lies)).to.deep.equal([["empty-logs"], undefined, undefined]);
  });

  it("answers a seeded subset of the node's logs, for ranges and block hashes, the same from the same seed", async function () {
    const from = (await head()) + 1;
    await mintInOneBlock(6, ALICE);
    await mintBlocks(4, BOB);
    const range = await transfers(chain().url, from, from + 4);
    const block = await client(chain().url).getLogs({ blockHash: range[0].blockHash! });
    expect(range).to.have.length(10);
    expect(block).to.have.length(6);

    const lies: LieRule[] = [{ lie: { kind: "subset-logs" } }];
    const answers = async (p: FaultyRpcProxy) => ({
      range: (await transfers(p.url, from, from + 4)).map(where),
      block: (await client(p.url).getLogs({ blockHash: range[0].blockHash! })).map(where),
    });
    const first = await answers(await proxy({ seed: 11, lies }));
    for (const [answer, truth] of [
      [first.range, range],
      [first.block, block],
    ] as const) {
      expect(answer.length, "some logs, not all").to.be.within(1, truth.length - 1);
      expect(truth.map(where)).to.include.members(answer);
    }
    const again = await proxy({ seed: 11, lies });
    expect(await answers(again)).to.deep.equal(first);
    expect(await answers(await proxy({ seed: 12, lies }))).to.not.deep.equal(first);
    expect(again.stats.subsetLogQueries).to.equal(2);
  });

  it("answers logs of the branch that is gone, with its block hashes, by range and by block hash", async function () {
    const p = await proxy();
    // The proxy sees the old branch because a client read its logs through it.
    const { base, old, fresh, oldLogs } = await reorganise((base) => transfers(p.url, base + 1, base + 4).then(() => undefined));
    const nodeLogs = await transfers(chain().url, base, base + 5);
    expect(nodeLogs.map((log) => log.blockHash)).to.deep.equal([await hashAt(base), fresh(base + 1), fresh(base + 2), fresh(base + 3)]);

    p.configure({ lies: [{ lie: { kind: "other-branch-logs" } }] });
    // Below the fork, the node's (shared) log; above it, the old branch's; above its tip, nothing.
    const lied = await transfers(p.url, base, base + 5);
    expect(lied.map(where)).to.deep.equal([where(nodeLogs[0]), ...oldLogs.map(where)]);
    expect(lied.slice(1).map((log) => log.blockHash)).to.deep.equal([1, 2, 3, 4].map((k) => old(base + k)));

    // By hash: a new block's hash gets the old block's logs at its height; an old hash (the node refuses it) its own.
    const byHash = (hash: Hash) => client(p.url).getLogs({ blockHash: hash });
    expect((await byHash(fresh(base + 2))).map(where)).to.deep.equal([where(oldLogs[1])]);
    expect(await outcome(client(chain().url).getLogs({ blockHash: old(base + 1) }))).to.not.equal("answered");
    expect((await byHash(old(base + 1))).map(where)).to.deep.equal([where(oldLogs[0])]);
    // Above the old tip the old branch has nothing, as the node has nothing in that empty block: no lie to count.
    expect(await byHash(fresh(base + 5))).to.deep.equal([]);
    expect((await byHash(nodeLogs[0].blockHash!)).map(where)).to.deep.equal([where(nodeLogs[0])]);
    expect(p.stats.otherBranchLogQueries).to.equal(3);

    // Headers stay the node's: logs of one branch, headers of the other.
    expect((await client(p.url).getBlock({ blockNumber: BigInt(base + 2) })).hash).to.equal(fresh(base + 2));
    expect(p.stats.staleHeaders).to.equal(0);
  });

  it("serves the gone branch from proxies that never saw it: a shared, a primed, or a merged recording", async function () {
    const witness = await proxy();
    const primed = new ChainRecording();
    const { base, oldLogs } = await reorganise(async (base) => {
      await transfers(witness.url, base + 1, base + 4);
      await primed.prime(chain().url, { from: base });
    });
    const lies: LieRule[] = [{ lie: { kind: "other-branch-logs" }, queries: "range" }];
    const sharing = await proxy({ recording: witness.recording, lies });
    const priming = await proxy({ recording: primed, lies });
    const merging = await proxy({ lies });
    merging.recording.merge(witness.recording);
    const unaware = await proxy({ lies });

    for (const p of [sharing, priming, merging]) {
      expect((await transfers(p.url, base + 1, base + 5)).map(where)).to.deep.equal(oldLogs.map(where));
      expect(p.stats.otherBranchLogQueries).to.equal(1);
    }
    // A proxy that knows no branch but the node's has nothing else to tell.
    const truth = await transfers(chain().url, base + 1, base + 5);
    expect((await transfers(unaware.url, base + 1, base + 5)).map(where)).to.deep.equal(truth.map(where));
    expect(unaware.stats.otherBranchLogQueries).to.equal(0);
  });

  it("serves headers of the gone branch while the logs are the node's", async function () {
    const recording = new ChainRecording();
    const { base, old, fresh } = await reorganise((base) => recording.prime(chain().url, { from: base }));
    const p = await proxy({ recording, lies: [{ lie: { kind: "other-branch-headers" } }] });
    const through = client(p.url);

    expect((await through.getBlock({ blockNumber: BigInt(base + 2) })).hash).to.equal(old(base + 2));
    // A new block's hash gets the old header at its height; an old hash (the node has forgotten it) its own header.
    expect((await through.getBlock({ blockHash: fresh(base + 3) })).hash).to.equal(old(base + 3));
    expect(
      await node()
        .getBlock({ blockHash: old(base + 1) })
        .catch((error: Error) => error.name),
    ).to.equal("BlockNotFoundError");
    expect((await through.getBlock({ blockHash: old(base + 1) })).hash).to.equal(old(base + 1));
    // Full transactions, as primed.
    const full = await through.getBlock({ blockNumber: BigInt(base + 1), includeTransactions: true });
    expect(full.transactions.map((tx) => tx.to)).to.deep.equal([token().toLowerCase()]);
    expect(full.hash).to.equal(old(base + 1));
    // Above the old tip there is no block; the head is the old tip; below the fork the branches agree.
    expect(await outcome(through.getBlock({ blockNumber: BigInt(base + 5) }))).to.equal("BlockNotFoundError");
    expect((await through.getBlock()).hash).to.equal(old(base + 4));
    expect((await through.getBlock({ blockNumber: BigInt(base) })).hash).to.equal(await hashAt(base));

    // The logs are live: the new branch's, whose block hashes the headers above do not know.
    const logs = await transfers(p.url, base + 1, base + 5);
    expect(logs.map((log) => log.blockHash)).to.deep.equal([fresh(base + 1), fresh(base + 2), fresh(base + 3)]);
    expect(p.stats.staleHeaders).to.equal(6);
    expect(p.stats.otherBranchLogQueries).to.equal(0);
  });

  it("lags its head k blocks behind the node's, clamping log ranges to it, beside a healthy provider", async function () {
    const lagging = await proxy({ lies: [{ lie: { kind: "lag", blocks: 3 } }] });
    const healthy = await proxy();
    const from = (await head()) + 1;
    await mintBlocks(5, ALICE);
    const top = await head();
    const behind = top - 3;
    const slow = client(lagging.url);

    expect(Number(await slow.getBlockNumber())).to.equal(behind);
    expect(Number(await client(healthy.url).getBlockNumber())).to.equal(top);
    expect(Number((await slow.getBlock()).number)).to.equal(behind);
    expect(await outcome(slow.getBlock({ blockNumber: BigInt(top) }))).to.equal("BlockNotFoundError");
    expect(await outcome(slow.getBlock({ blockHash: await hashAt(top) }))).to.equal("BlockNotFoundError");
    expect(Number((await slow.getBlock({ blockNumber: BigInt(behind) })).number)).to.equal(behind);

    // The range reaching above the lagging head is clamped to it silently; one wholly above it is empty.
    const truth = await transfers(healthy.url, from, top);
    expect(truth).to.have.length(5);
    expect((await transfers(lagging.url, from, top)).map(where)).to.deep.equal(truth.slice(0, 2).map(where));
    expect(await transfers(lagging.url, top - 1, top)).to.deep.equal([]);
    expect(await outcome(slow.getLogs({ blockHash: await hashAt(top) }))).to.not.equal("answered");
    // State at "latest" is the lagging head's; a receipt of a newer block does not exist yet.
    expect(await slow.readContract({ address: token(), abi: BALANCE_OF, functionName: "balanceOf", args: [ALICE] })).to.equal(
      await node().readContract({ address: token(), abi: BALANCE_OF, functionName: "balanceOf", args: [ALICE], blockNumber: BigInt(behind) }),
    );
    const newest = (await node().getBlock({ blockNumber: BigInt(top) })).transactions[0];
    expect(await outcome(slow.getTransactionReceipt({ hash: newest }))).to.equal("TransactionReceiptNotFoundError");
    expect(lagging.logQueries.map((query) => query.lies)).to.deep.equal([["lag"], ["lag"]]);
    expect(lagging.stats.laggedAnswers).to.equal(9);

    // The node moves on: the lagging provider reaches where the node was.
    await mine(3);
    expect(Number(await slow.getBlockNumber())).to.equal(top);
    expect((await transfers(lagging.url, from, top)).map(where)).to.deep.equal(truth.map(where));
  });

  it("serves headers to the head while its log index lags: logs missing, then present", async function () {
    const p = await proxy({ lies: [{ lie: { kind: "log-index-lag", blocks: 2 } }] });
    const from = (await head()) + 1;
    await mintBlocks(4, ALICE);
    const top = await head();
    const truth = await transfers(chain().url, from, top);
    const newest = await hashAt(top);

    expect(Number(await client(p.url).getBlockNumber())).to.equal(top);
    expect((await client(p.url).getBlock({ blockNumber: BigInt(top) })).hash).to.equal(newest);
    expect((await transfers(p.url, from, top)).map(where)).to.deep.equal(truth.slice(0, 2).map(where));
    expect(await client(p.url).getLogs({ blockHash: newest })).to.deep.equal([]);
    expect(p.stats.unindexedLogQueries).to.equal(2);

    await mine(2);
    expect((await transfers(p.url, from, top)).map(where)).to.deep.equal(truth.map(where));
    expect((await client(p.url).getLogs({ blockHash: newest })).map(where)).to.deep.equal([where(truth[3])]);
    expect(p.stats.unindexedLogQueries).to.equal(2);
  });

  it("lies on the n-th matching call, on the next n, and counts a rule's calls until a new rule replaces it", async function () {
    const from = (await head()) + 1;
    await mintBlocks(2, ALICE);
    const truth = (await transfers(chain().url, from, from + 1)).map(where);
    const lie: LieRule = { lie: { kind: "empty-logs" }, queries: "range", when: { nth: 2, count: 2 } };
    const p = await proxy({ lies: [lie] });
    const ask = async () => (await transfers(p.url, from, from + 1)).length;

    const seen = [await ask(), await ask()];
    // Queries by hash are not the rule's: they neither are lied to nor move its count.
    expect(await client(p.url).getLogs({ blockHash: await hashAt(from) })).to.have.length(1);
    seen.push(await ask(), await ask());
    expect(seen).to.deep.equal([2, 0, 0, 2]);

    // The same rule object keeps its count (its 5th call is past its 2nd and 3rd); a lag for the next 2 head reads.
    const top = await head();
    p.configure({ lies: [lie, { lie: { kind: "lag", blocks: 1 }, methods: ["eth_blockNumber"], when: { next: 2 } }] });
    expect(await ask()).to.equal(2);
    const heads = [];
    for (let i = 0; i < 3; i++) heads.push(Number(await client(p.url).getBlockNumber()));
    expect(heads).to.deep.equal([top - 1, top - 1, top]);
    // The lag was for the head only: headers are the node's.
    expect(Number((await client(p.url).getBlock()).number)).to.equal(top);

    // A new rule object counts from its first call.
    p.configure({ lies: [{ ...lie, when: { nth: 2 } }] });
    expect([await ask(), await ask(), await ask()]).to.deep.equal([2, 0, 2]);
    expect(p.stats.emptiedLogQueries).to.equal(3);
    expect(p.stats.laggedAnswers).to.equal(2);
    expect((await transfers(p.url, from, from + 1)).map(where)).to.deep.equal(truth);
  });

  it("judges each call of a JSON-RPC batch on its own", async function () {
    const from = (await head()) + 1;
    await mintBlocks(2, ALICE);
    const top = await head();
    const p = await proxy({
      lies: [
        { lie: { kind: "empty-logs" }, when: { nth: 2 } },
        { lie: { kind: "lag", blocks: 1 }, methods: ["eth_blockNumber"], when: { nth: 1 } },
      ],
    });
    const filter = { address: token(), fromBlock: `0x${from.toString(16)}`, toBlock: `0x${top.toString(16)}` };
    const logs = (id: number) => ({ jsonrpc: "2.0", id, method: "eth_getLogs", params: [filter] });
    const answers = (await post(p.url, [
      logs(1),
      { jsonrpc: "2.0", id: 2, method: "eth_blockNumber", params: [] },
      logs(3),
      logs(4),
      { jsonrpc: "2.0", id: 5, method: "eth_blockNumber", params: [] },
    ])) as Array<{ id: number; result: unknown }>;
    expect(answers.map((answer) => answer.id)).to.deep.equal([1, 2, 3, 4, 5]);
    expect(answers.map((answer) => (Array.isArray(answer.result) ? answer.result.length : Number(answer.result)))).to.deep.equal([2, top - 1, 0, 2, top]);
    expect(p.stats).to.include({ requests: 1, batches: 1, calls: 5, emptiedLogQueries: 1, laggedAnswers: 1 });

    // viem's batching transport too: two log queries in one HTTP request, the second of the rule's calls lied to.
    p.configure({ lies: [{ lie: { kind: "empty-logs" }, when: { nth: 2 } }] });
    const batching = createPublicClient({ transport: http(p.url, { batch: true, retryCount: 0 }), cacheTime: 0 });
    const both = await Promise.all([0, 1].map(() => batching.getLogs({ address: token(), fromBlock: BigInt(from), toBlock: BigInt(top) })));
    expect(both.map((answer) => answer.length)).to.deep.equal([2, 0]);
    expect(p.stats.batches).to.equal(2);
  });

  it("lies by seeded chance, the same calls from the same seed, leaving the seed's faults as they were", async function () {
    const from = (await head()) + 1;
    await mintBlocks(2, ALICE);
    const faults: ProxyOptions["rules"] = [{ probability: 0.3, fault: { kind: "rpc-error", code: -32603, message: "internal error" } }];
    const lies: LieRule[] = [{ lie: { kind: "empty-logs" }, when: { probability: 0.5 } }];
    const pattern = async (p: FaultyRpcProxy) => {
      const seen: string[] = [];
      for (let id = 1; id <= 30; id++) {
        const answer = (await post(p.url, {
          jsonrpc: "2.0",
          id,
          method: "eth_getLogs",
          params: [{ address: token(), fromBlock: `0x${from.toString(16)}`, toBlock: `0x${(from + 1).toString(16)}` }],
        })) as { result?: unknown[]; error?: unknown };
        seen.push(answer.error ? "fault" : answer.result!.length === 0 ? "lie" : "truth");
      }
      return seen;
    };
    const [a, b, c, honest] = [
      await proxy({ seed: 5, rules: faults, lies }),
      await proxy({ seed: 5, rules: faults, lies }),
      await proxy({ seed: 6, rules: faults, lies }),
      await proxy({ seed: 5, rules: faults }),
    ];
    const first = await pattern(a);
    expect(await pattern(b)).to.deep.equal(first);
    expect(await pattern(c)).to.not.deep.equal(first);
    expect(new Set(first)).to.deep.equal(new Set(["fault", "lie", "truth"]));
    expect((await pattern(honest)).map((seen) => seen === "fault")).to.deep.equal(first.map((seen) => seen === "fault"));
    expect(a.stats.emptiedLogQueries).to.equal(first.filter((seen) => seen === "lie").length);
    expect(a.stats.rpcErrors).to.equal(first.filter((seen) => seen === "fault").length);
    expect(a.logQueries.filter((query) => query.lies?.includes("empty-logs"))).to.have.length(a.stats.emptiedLogQueries);
  });
});
