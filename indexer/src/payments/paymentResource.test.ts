import { expect } from "chai";
import fc from "fast-check";
import { zeroAddress, type Address, type Hex } from "viem";
import { newPayment, type Payment } from "./payment";
import { signedIntentFromJson } from "./signedIntentJson";
import { PAYMENT_STATUSES } from "./statuses";
import type { PaymentRegistration } from "./paymentRegistration";
import { paymentResource, type PaymentResourceInput, type TokenInfo } from "./paymentResource";
import { paymentResourceSchema } from "./resourceSchemas";

const MERCHANT = "0x90F79bf6EB2c4f870365E785982E1f101E93b906" as Address;
const CUSTOMER = "0x976EA74026E726554dB657fA54763abd0C3a0aa9" as Address;
const ID = `0x90f79bf6eb2c4f870365e785982e1f101e93b906${"ab".repeat(12)}` as Hex;
const USDT: TokenInfo = { symbol: "USDT", address: "0x55d398326f99059fF775485246999027B3197955", decimals: 18 };
const USDC6: TokenInfo = { symbol: "USDC", address: "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", decimals: 6 };
const TOKENS = new Map([USDT, USDC6].map((token) => [token.address.toLowerCase(), token]));
const E18 = 10n ** 18n;

const registration: PaymentRegistration = {
  chainId: 56,
  id: ID,
  merchant: MERCHANT,
  amountUsd: 25n * E18,
  expiry: 1_900_000_000n,
  refundTo: zeroAddress,
  acceptedTokenMask: 0b110n,
  acceptedTokens: [USDT.address, USDC6.address],
  signature: `0x${"11".repeat(65)}`,
  depositAddress: "0xf5e6C015f9A09571841824803F5E731Bfa614a08",
};

function input(payment: Payment, overrides: Partial<PaymentResourceInput> = {}): PaymentResourceInput {
  return {
    mode: "test",
    chainId: 56,
    payment,
    registration,
    request: {
      description: "Two tickets",
      orderId: "o-1",
      metadata: { customer: "cus_1" },
      options: [],
      successUrl: "https://shop.example/thanks",
      cancelUrl: null,
      createdAt: new Date("2026-05-01T10:00:00.000Z"),
    },
    updatedAt: new Date("2026-05-01T10:05:00.000Z"),
    tokens: TOKENS,
    checkoutUrl: `https://pay.example/checkout/${ID}`,
    confirmations: { seen: 0, required: 12 },
    transactions: [],
    ...overrides,
  };
}

describe("the payment resource", function () {
  it("shows a new payment: initiated, USD with cents, no token yet, times in ISO 8601", function () {
    const resource = paymentResource(input(newPayment(registration)));
    expect(resource).to.deep.equal({
      object: "payment",
      id: ID,
      livemode: false,
      chain_id: 56,
      status: "initiated",
      previous_status: null,
      sequence: 0,
      amount_usd: "25.00",
      received_usd: "0.00",
      remaining_usd: "25.00",
      excess_usd: "0.00",
      token: null,
      paid_amount: null,
      other_deposits: [],
      fee: null,
      refunded_amount: null,
      refund_pending_amount: null,
      refunds: [],
      returned_transfers: [],
      unaccepted_transfers: [],
      description: "Two tickets",
      order_id: "o-1",
      metadata: { customer: "cus_1" },
      merchant: MERCHANT,
      refund_address: null,
      checkout_url: `https://pay.example/checkout/${ID}`,
      deposit_address: registration.depositAddress,
      payment_options: [],
      intent: {
        intent: { paymentId: ID, merchant: MERCHANT, amountUsd: (25n * E18).toString(), expiry: "1900000000", refundTo: zeroAddress, acceptedTokens: "6" },
        signature: registration.signature,
      },
      confirmations: { seen: 0, required: 12 },
      transactions: [],
      expires_at: "2030-03-17T17:46:40.000Z",
      created_at: "2026-05-01T10:00:00.000Z",
      updated_at: "2026-05-01T10:05:00.000Z",
      success_url: "https://shop.example/thanks",
      cancel_url: null,
    });
    // The intent is exactly what the escrow and `simulate --intent` read back.
    expect(signedIntentFromJson(resource.intent).intent).to.deep.equal({
      paymentId: ID,
      merchant: MERCHANT,
      amountUsd: 25n * E18,
      expiry: 1_900_000_000n,
      refundTo: zeroAddress,
      acceptedTokens: 0b110n,
    });
  });

  it("shows token amounts in the token's own decimals, finding the token whatever the case of its address", function () {
    const payment: Payment = {
      ...newPayment(registration),
      status: "partially_refunded",
      previousStatus: "refunding",
      sequence: 4,
      token: USDC6.address.toLowerCase() as Address,
      receivedUsd: 25_000_100_000_000_000_000n,
      remainingUsd: 0n,
      excessUsd: 100_000_000_000_000n,
      paidAmount: 25_005_002n,
      fee: 12_500n,
      refundedAmount: 5_000_000n,
      refundRequested: 0n,
    };
    const resource = paymentResource(
      input(payment, { mode: "live", registration: { ...registration, refundTo: CUSTOMER }, transactions: [`0x${"cd".repeat(32)}`] }),
    );
    expect(resource).to.include({
      livemode: true,
      status: "partially_refunded",
      previous_status: "refunding",
      sequence: 4,
      received_usd: "25.0001",
      remaining_usd: "0.00",
      excess_usd: "0.0001",
      paid_amount: "25.005002",
      fee: "0.0125",
      refunded_amount: "5",
      refund_pending_amount: "0",
      refund_address: CUSTOMER,
    });
    expect(resource.token).to.deep.equal({ symbol: "USDC", address: USDC6.address });
    expect(resource.transactions).to.deep.equal([`0x${"cd".repeat(32)}`]);
  });

  it("shows the money sent back and the tokens the escrow does not take, in whole tokens where their decimals are known", function () {
    const JUNK = "0x9999999999999999999999999999999999999999" as Address;
    const tx = (byte: string) => `0x${byte.repeat(32)}` as Hex;
    const payment: Payment = {
      ...newPayment(registration),
      status: "expired",
      token: USDC6.address,
      paidAmount: 4_000_000n,
      depositsReturned: 4_000_000n,
      refunds: [{ kind: "expiry", token: USDC6.address, amount: 4_000_000n, to: CUSTOMER, transactionHash: tx("a1"), claimable: true }],
      returnedTransfers: [
        {
          reason: "after_expiry",
          token: USDT.address,
          amount: 2n * E18,
          from: registration.depositAddress,
          to: CUSTOMER,
          transactionHash: tx("a2"),
          claimable: false,
        },
        {
          reason: "token_not_supported",
          token: JUNK,
          amount: 7n,
          from: registration.depositAddress,
          to: CUSTOMER,
          transactionHash: tx("a3"),
          claimable: false,
        },
      ],
      unacceptedTransfers: [
        { token: JUNK, amount: 7n, sender: CUSTOMER, transactionHash: tx("b1"), returnedBy: tx("a3") },
        { token: JUNK, amount: 5n, sender: CUSTOMER, transactionHash: tx("b2"), returnedBy: null },
      ],
    };
    const resource = paymentResource(input(payment));
    expect(paymentResourceSchema.safeParse(resource).success).to.equal(true);
    // An expired payment's refunded_amount is what went back in its token.
    expect(resource.refunded_amount).to.equal("4");
    expect(resource.refunds).to.deep.equal([
      {
        kind: "expiry",
        amount: "4",
        amount_units: "4000000",
        token: { symbol: "USDC", address: USDC6.address },
        to: CUSTOMER,
        transaction_hash: tx("a1"),
        status: "claimable",
      },
    ]);
    expect(resource.returned_transfers).to.deep.equal([
      {
        reason: "after_expiry",
        amount: "2",
        amount_units: (2n * E18).toString(),
        token: { symbol: "USDT", address: USDT.address },
        from: registration.depositAddress,
        to: CUSTOMER,
        transaction_hash: tx("a2"),
        status: "sent",
      },
      {
        reason: "token_not_supported",
        amount: null,
        amount_units: "7",
        token: { symbol: null, address: JUNK },
        from: registration.depositAddress,
        to: CUSTOMER,
        transaction_hash: tx("a3"),
        status: "sent",
      },
    ]);
    expect(
      resource.unaccepted_transfers.map(({ amount_units, status, returned_transaction_hash }) => [amount_units, status, returned_transaction_hash]),
    ).to.deep.equal([
      ["7", "returned", tx("a3")],
      ["5", "needs_operator", null],
    ]);
  });

  it("carries the history only when asked for", function () {
    expect(paymentResource(input(newPayment(registration)))).to.not.have.property("history");
    const history = [
      {
        sequence: 1,
        from: "initiated" as const,
        to: "pending" as const,
        reason: "deposit",
        transaction_hash: null,
        block_number: 7,
        at: "2026-05-01T10:01:00.000Z",
      },
    ];
    expect(paymentResource(input(newPayment(registration), { history })).history).to.deep.equal(history);
  });

  it("always fits the schema the API serialises it with (or every response would be a 500)", function () {
    const amount = fc.bigInt({ min: 0n, max: 10n ** 36n });
    const arbitraryPayment = fc.record({
      status: fc.constantFrom(...PAYMENT_STATUSES),
      previousStatus: fc.option(fc.constantFrom(...PAYMENT_STATUSES)),
      sequence: fc.nat({ max: 1000 }),
      amountUsd: amount,
      receivedUsd: amount,
      remainingUsd: amount,
      excessUsd: amount,
      token: fc.option(fc.constantFrom(USDT.address, USDC6.address.toLowerCase(), "0x000000000000000000000000000000000000dEaD")),
      paidAmount: amount,
      fee: amount,
      refundedAmount: amount,
      refundRequested: amount,
      expiry: fc.bigInt({ min: 0n, max: 8_000_000_000_000n }),
    });
    fc.assert(
      fc.property(arbitraryPayment, fc.boolean(), fc.dictionary(fc.string({ minLength: 1 }), fc.string()), (fields, withHistory, metadata) => {
        const payment = { ...newPayment(registration), ...fields } as Payment;
        const resource = paymentResource(
          input(payment, {
            registration: { ...registration, amountUsd: fields.amountUsd, expiry: fields.expiry },
            request: { ...input(payment).request, metadata },
            history: withHistory ? [] : undefined,
          }),
        );
        const parsed = paymentResourceSchema.safeParse(resource);
        expect(parsed.success, JSON.stringify(parsed.error?.issues)).to.equal(true);
        // And survives JSON unchanged: no bigint, no Date, no undefined left in it.
        expect(JSON.parse(JSON.stringify(resource))).to.deep.equal(resource);
        expect(resource.amount_usd).to.match(/^\d+\.\d{2,18}$/);
        expect((resource.token === null) === (resource.paid_amount === null)).to.equal(true);
      }),
      { numRuns: 300 },
    );
  });
});
