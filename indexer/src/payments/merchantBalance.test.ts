import { expect } from "chai";
import { checkWithdrawal, completionCredit, completionCredits, tokenBalances, type BalanceMovement, type TokenBalance } from "./merchantBalance";

const USDT = "0x55d398326f99059fF775485246999027B3197955";
const BNB = "0x0000000000000000000000000000000000000000";
const credit = (amount: bigint, fee: bigint, confirmed = true, token = USDT): BalanceMovement => ({ kind: "credit", token, amount, fee, confirmed });
const debit = (kind: "refund" | "withdrawal", amount: bigint, confirmed = true, token = USDT): BalanceMovement => ({ kind, token, amount, confirmed });
const zero: Omit<TokenBalance, "token"> = {
  balance: 0n,
  confirmed: 0n,
  pendingCredits: 0n,
  pendingDebits: 0n,
  refundsRequested: 0n,
  withdrawable: 0n,
  fees: 0n,
  credited: 0n,
  refunded: 0n,
  withdrawn: 0n,
};

describe("a merchant's escrow balance", function () {
  describe("completionCredit: what a completed payment credits", function () {
    const cases: Array<[string, bigint, bigint[], bigint, bigint]> = [
      ["one deposit, no fee", 100n, [], 0n, 100n],
      ["one deposit, 1% fee", 100n, [], 1n, 99n],
      ["underpaid, then topped up: both deposits", 40n, [60n], 1n, 99n],
      ["overpaid: the excess is credited too", 150n, [], 0n, 150n],
      ["three deposits, fee on all of them", 10n, [45n, 45n], 2n, 98n],
    ];
    for (const [name, completing, earlier, fee, expected] of cases) {
      it(name, function () {
        expect(completionCredit(completing, earlier, fee)).to.equal(expected);
      });
    }
    it("refuses a fee above the deposits: a deposit log is missing", function () {
      expect(() => completionCredit(1n, [], 2n)).to.throw(/exceeds the 1 deposited/);
    });
  });

  describe("completionCredits: each completion counts its payment's earlier deposits in its token", function () {
    it("counts a late-found deposit, and leaves other payments and other tokens out", function () {
      const entry = (kind: "deposited" | "completed", paymentId: string, token: string, amount: bigint, fee = 0n) => ({ kind, paymentId, token, amount, fee });
      const credits = completionCredits([
        entry("deposited", "p1", USDT, 30n),
        entry("deposited", "p1", BNB, 1000n),
        entry("deposited", "p2", USDT, 5n),
        entry("deposited", "p1", USDT.toLowerCase(), 20n),
        entry("completed", "p1", USDT, 50n, 1n),
        entry("completed", "p2", USDT, 95n),
      ]);
      expect([...credits]).to.deep.equal([
        [4, 99n],
        [5, 100n],
      ]);
    });
  });

  describe("tokenBalances: the balance, its confirmed part, what is pending, fees", function () {
    const cases: Array<[string, BalanceMovement[], Map<string, bigint>, Array<Partial<TokenBalance>>]> = [
      ["nothing moved: every configured token at zero", [], new Map(), [{ token: USDT }, { token: BNB }]],
      [
        "a confirmed credit and a credit still confirming",
        [credit(99n, 1n), credit(50n, 0n, false)],
        new Map(),
        [{ token: USDT, balance: 149n, confirmed: 99n, pendingCredits: 50n, withdrawable: 149n, fees: 1n, credited: 149n }, { token: BNB }],
      ],
      [
        "a refund and a withdrawal, the withdrawal not yet final",
        [credit(200n, 2n), debit("refund", 50n), debit("withdrawal", 100n, false)],
        new Map(),
        [
          { token: USDT, balance: 50n, confirmed: 150n, pendingDebits: 100n, withdrawable: 50n, fees: 2n, credited: 200n, refunded: 50n, withdrawn: 100n },
          { token: BNB },
        ],
      ],
      [
        "refunds asked for are kept back from what may be withdrawn",
        [credit(100n, 0n)],
        new Map([[USDT.toLowerCase(), 30n]]),
        [{ token: USDT, balance: 100n, confirmed: 100n, refundsRequested: 30n, withdrawable: 70n, credited: 100n }, { token: BNB }],
      ],
      [
        "refunds asked for beyond the balance leave nothing to withdraw",
        [credit(10n, 0n)],
        new Map([[USDT, 30n]]),
        [{ token: USDT, balance: 10n, confirmed: 10n, refundsRequested: 30n, withdrawable: 0n, credited: 10n }, { token: BNB }],
      ],
      [
        "tokens apart, and a token not configured listed after the others",
        [credit(5n, 0n, true, BNB), credit(7n, 0n, true, "0x00000000000000000000000000000000000000aa")],
        new Map(),
        [
          { token: USDT },
          { token: BNB, balance: 5n, confirmed: 5n, withdrawable: 5n, credited: 5n },
          { token: "0x00000000000000000000000000000000000000aa", balance: 7n, confirmed: 7n, withdrawable: 7n, credited: 7n },
        ],
      ],
      [
        "addresses match whatever their case",
        [credit(5n, 0n, true, USDT.toLowerCase())],
        new Map(),
        [{ token: USDT, balance: 5n, confirmed: 5n, withdrawable: 5n, credited: 5n }, { token: BNB }],
      ],
    ];
    for (const [name, movements, requested, expected] of cases) {
      it(name, function () {
        expect(tokenBalances(movements, [USDT, BNB], requested)).to.deep.equal(expected.map((partial) => ({ ...zero, ...partial })));
      });
    }
  });

  describe("checkWithdrawal: against what may be withdrawn", function () {
    const cases: Array<[string, bigint | "all", bigint, ReturnType<typeof checkWithdrawal>]> = [
      ["part of it", 40n, 100n, { ok: true, amount: 40n }],
      ["all of it, by amount", 100n, 100n, { ok: true, amount: 100n }],
      ['"all"', "all", 100n, { ok: true, amount: 100n }],
      ["more than there is", 101n, 100n, { ok: false, reason: "exceeds", amount: 101n, withdrawable: 100n }],
      ['"all" of nothing', "all", 0n, { ok: false, reason: "zero", amount: 0n, withdrawable: 0n }],
      ["zero", 0n, 100n, { ok: false, reason: "zero", amount: 0n, withdrawable: 100n }],
    ];
    for (const [name, requested, withdrawable, expected] of cases) {
      it(name, function () {
        expect(checkWithdrawal(requested, withdrawable)).to.deep.equal(expected);
      });
    }
  });
});
