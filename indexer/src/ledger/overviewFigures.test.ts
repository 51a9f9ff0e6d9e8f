import { expect } from "chai";
import type { PaymentTally } from "../store/paymentTallies";
import { overviewFigures, overviewWindow } from "./overviewFigures";

const USDT = "0x55d398326f99059ff775485246999027b3197955";
const BNB = "0x0000000000000000000000000000000000000000";
const usd = (whole: bigint) => whole * 10n ** 18n;
const tally = (fields: Partial<PaymentTally>): PaymentTally => ({
  day: "2026-12-07",
  status: "initiated",
  opened: false,
  token: null,
  count: 1,
  amountUsd: usd(10n),
  paidAmount: 0n,
  ...fields,
});

describe("overviewFigures", function () {
  const now = new Date("2026-12-07T15:30:00Z");

  it("covers today and the 29 UTC days before it", function () {
    expect(overviewWindow(now)).to.deep.equal({ from: new Date("2026-11-08T00:00:00Z"), to: new Date("2026-12-08T00:00:00Z") });
  });

  it("counts the funnel and sums the paid volume exactly, per token and in USD, today and over the 30 days", function () {
    const figures = overviewFigures(
      [
        tally({ count: 3 }),
        tally({ status: "pending", opened: true, count: 2 }),
        tally({ status: "paid", opened: true, token: USDT, count: 2, amountUsd: usd(25n) + 1n, paidAmount: 25_000_000_000_000_000_001n }),
        tally({ status: "partially_refunded", opened: true, token: BNB, amountUsd: usd(7n), paidAmount: 11n }),
        tally({ day: "2026-11-08", status: "expired", count: 4 }),
        tally({ day: "2026-11-08", status: "expired", opened: true, count: 1 }),
        tally({ day: "2026-11-20", status: "refunded", opened: true, token: USDT, amountUsd: usd(100n), paidAmount: 5n }),
        // Outside the window: left out.
        tally({ day: "2026-11-07", status: "paid", opened: true, token: USDT, count: 9, amountUsd: usd(1000n), paidAmount: 1000n }),
      ],
      now,
    );
    expect(figures.today).to.equal("2026-12-07");
    expect(figures.todays).to.deep.equal({
      created: 8,
      opened: 5,
      paid: 3,
      expired: 0,
      volumeUsd: usd(32n) + 1n,
      volumeByToken: new Map([
        [USDT, 25_000_000_000_000_000_001n],
        [BNB, 11n],
      ]),
    });
    expect(figures.lastDays).to.deep.equal({
      created: 14,
      opened: 7,
      paid: 4,
      expired: 5,
      volumeUsd: usd(132n) + 1n,
      volumeByToken: new Map([
        [USDT, 25_000_000_000_000_000_006n],
        [BNB, 11n],
      ]),
    });
    expect(figures.days).to.have.length(30);
    expect(figures.days[0]).to.deep.equal({ day: "2026-11-08", paid: 0, volumeUsd: 0n });
    expect(figures.days[12]).to.deep.equal({ day: "2026-11-20", paid: 1, volumeUsd: usd(100n) });
    expect(figures.days[29]).to.deep.equal({ day: "2026-12-07", paid: 3, volumeUsd: usd(32n) + 1n });
  });

  it("has every day at zero without payments", function () {
    const figures = overviewFigures([], now);
    expect(figures.lastDays).to.deep.equal({ created: 0, opened: 0, paid: 0, expired: 0, volumeUsd: 0n, volumeByToken: new Map() });
    expect(figures.days.every((day) => day.paid === 0 && day.volumeUsd === 0n)).to.equal(true);
  });
});
