import { expect } from "chai";
import { getAddress, verifyMessage, type Address, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createSiweMessage } from "viem/siwe";
import type { NonceUse } from "../store/dashboardSessionStore";
import type { Merchant } from "../store/merchantStore";
import { accountOf, signIn, stillAuthorised, type SignInPorts } from "./dashboardSignIn";
import { SignInRefused, type SignInExpectations } from "./signInMessage";

const NOW = new Date("2026-12-06T12:00:00.000Z");
const EXPECTED: SignInExpectations = { domain: "pay.shop.example", origin: "https://pay.shop.example", chainId: 56 };
const minutes = (n: number) => new Date(NOW.getTime() + n * 60_000);

const owner = privateKeyToAccount(generatePrivateKey());
const signer = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());
const gateway = privateKeyToAccount(generatePrivateKey());
const SHOP: Merchant = { id: "mer_shop", name: "Shop", address: owner.address };
const ESCROW = getAddress("0x00000000000000000000000000000000000e5c40");

/** A gateway with one merchant (SHOP), `signer` authorised by it, and the nonces it issued. */
function fakeGateway() {
  const nonces = new Map<string, { expiresAt: Date; used: boolean }>();
  const signers = new Set<string>([signer.address, gateway.address]);
  const ports: SignInPorts = {
    verifySignature: ({ address, message, signature }) => verifyMessage({ address, message, signature }),
    async useNonce(nonce: string, now: Date): Promise<NonceUse> {
      const entry = nonces.get(nonce);
      if (!entry) return "unknown";
      if (entry.used) return "used";
      entry.used = true;
      return entry.expiresAt > now ? "ok" : "expired";
    },
    merchantsWithAddress: async (address: Address) => (address.toLowerCase() === SHOP.address.toLowerCase() ? [SHOP] : []),
    allMerchants: async () => [SHOP],
    isSigner: async (merchant: Address, address: Address) => merchant === SHOP.address && signers.has(address),
    gatewaySigner: gateway.address,
    escrow: ESCROW,
  };
  let issued = 0;
  const issue = (expiresAt = minutes(5)) => {
    const nonce = `nonce${String(++issued).padStart(8, "0")}`;
    nonces.set(nonce, { expiresAt, used: false });
    return nonce;
  };
  return { ports, issue, revoke: (address: Address) => signers.delete(address) };
}

type Account = ReturnType<typeof privateKeyToAccount>;

/** A message as the dashboard's page builds it, for `account`, with `changes`; signed by `by` (the account itself by default). */
async function signed(account: Account, nonce: string, changes: Partial<Parameters<typeof createSiweMessage>[0]> = {}, by: Account = account) {
  const message = createSiweMessage({
    domain: EXPECTED.domain,
    address: account.address,
    statement: "Sign in to the Open Pay dashboard.",
    uri: `${EXPECTED.origin}/dashboard`,
    version: "1",
    chainId: EXPECTED.chainId,
    nonce,
    issuedAt: NOW,
    expirationTime: minutes(5),
    ...changes,
  });
  return { message, signature: (await by.signMessage({ message })) as Hex };
}

async function refusal(attempt: Promise<unknown>): Promise<SignInRefused> {
  try {
    await attempt;
  } catch (error) {
    if (error instanceof SignInRefused) return error;
    throw error;
  }
  throw new Error("the sign-in was accepted");
}

describe("dashboard sign-in (Sign-In with Ethereum)", () => {
  it("signs the merchant's own address in to its merchant", async () => {
    const { ports, issue } = fakeGateway();
    expect(await signIn(ports, EXPECTED, await signed(owner, issue()), NOW)).to.deep.equal({ merchant: SHOP, address: owner.address, role: "merchant" });
  });

  it("signs an authorised signer in to the merchant that authorised it", async () => {
    const { ports, issue } = fakeGateway();
    expect(await signIn(ports, EXPECTED, await signed(signer, issue()), NOW)).to.deep.equal({ merchant: SHOP, address: signer.address, role: "signer" });
  });

  // Each row: what is wrong with the sign-in, how it is made, and the status and words of its refusal.
  const refusals: Array<{
    name: string;
    attempt: (gateway: ReturnType<typeof fakeGateway>) => Promise<{ message: string; signature: Hex }>;
    status: number;
    says: RegExp;
  }> = [
    {
      name: "a message for another domain",
      attempt: async ({ issue }) => signed(owner, issue(), { domain: "evil.example" }),
      status: 401,
      says: /the message is for domain evil\.example, this gateway is pay\.shop\.example/,
    },
    {
      name: "a URI on another origin",
      attempt: async ({ issue }) => signed(owner, issue(), { uri: "https://evil.example/dashboard" }),
      status: 401,
      says: /URI https:\/\/evil\.example\/dashboard is not on this gateway \(https:\/\/pay\.shop\.example\)/,
    },
    {
      name: "a message for another chain",
      attempt: async ({ issue }) => signed(owner, issue(), { chainId: 97 }),
      status: 401,
      says: /the message is for chain 97, this gateway runs on chain 56/,
    },
    {
      name: "an expired message",
      attempt: async ({ issue }) => signed(owner, issue(), { issuedAt: minutes(-3), expirationTime: minutes(-1) }),
      status: 401,
      says: /the message expired at 2026-12-06T11:59:00.000Z/,
    },
    {
      name: "a message not yet valid",
      attempt: async ({ issue }) => signed(owner, issue(), { notBefore: minutes(1) }),
      status: 401,
      says: /not valid before 2026-12-06T12:01:00.000Z/,
    },
    {
      name: "a message issued long ago",
      attempt: async ({ issue }) => signed(owner, issue(), { issuedAt: minutes(-60), expirationTime: undefined }),
      status: 401,
      says: /issued at 2026-12-06T11:00:00.000Z, more than 7 minutes ago/,
    },
    {
      name: "a message issued in the future",
      attempt: async ({ issue }) => signed(owner, issue(), { issuedAt: minutes(10), expirationTime: minutes(15) }),
      status: 401,
      says: /issued at 2026-12-06T12:10:00.000Z, in the future/,
    },
    {
      name: "a replayed message (its nonce used)",
      attempt: async ({ ports, issue }) => {
        const first = await signed(owner, issue());
        await signIn(ports, EXPECTED, first, NOW);
        return first;
      },
      status: 401,
      says: /nonce was used already/,
    },
    {
      name: "a nonce this gateway never issued",
      attempt: async () => signed(owner, "madeUpNonce123"),
      status: 401,
      says: /nonce was not issued by this gateway/,
    },
    {
      name: "an expired nonce",
      attempt: async ({ issue }) => signed(owner, issue(minutes(-1))),
      status: 401,
      says: /nonce expired/,
    },
    {
      name: "a signature by another key",
      attempt: async ({ issue }) => signed(owner, issue(), {}, stranger),
      status: 401,
      says: new RegExp(`the signature is not ${owner.address}'s signature of this message`),
    },
    {
      name: "an address that is no merchant's and no signer's",
      attempt: async ({ issue }) => signed(stranger, issue()),
      status: 403,
      says: new RegExp(`${stranger.address} is neither a merchant of this gateway nor an authorised signer of one on the escrow ${ESCROW}`),
    },
    {
      name: "a signer the merchant revoked",
      attempt: async ({ issue, revoke }) => {
        revoke(signer.address);
        return signed(signer, issue());
      },
      status: 403,
      says: /is neither a merchant of this gateway nor an authorised signer/,
    },
    {
      name: "the gateway's own intent signer (authorised by every merchant)",
      attempt: async ({ issue }) => signed(gateway, issue()),
      status: 403,
      says: /is this gateway's intent signer/,
    },
    {
      name: "text that is no EIP-4361 message",
      attempt: async () => ({ message: "Please sign in", signature: await owner.signMessage({ message: "Please sign in" }) }),
      status: 400,
      says: /not a Sign-In with Ethereum \(EIP-4361\) message: it has no domain/,
    },
  ];
  for (const row of refusals) {
    it(`refuses ${row.name}`, async () => {
      const gateway = fakeGateway();
      const error = await refusal(signIn(gateway.ports, EXPECTED, await row.attempt(gateway), NOW));
      expect(error.message).to.match(row.says);
      expect(error.statusCode).to.equal(row.status);
    });
  }

  it("leaves the nonce unspent when the signature is forged, so the real message still signs in", async () => {
    const { ports, issue } = fakeGateway();
    const nonce = issue();
    await refusal(signIn(ports, EXPECTED, await signed(owner, nonce, {}, stranger), NOW));
    expect((await signIn(ports, EXPECTED, await signed(owner, nonce), NOW)).role).to.equal("merchant");
  });

  it("keeps a signer's session only while the escrow still authorises it", async () => {
    const { ports, revoke } = fakeGateway();
    const account = await accountOf(ports, signer.address);
    expect(await stillAuthorised(ports, account)).to.equal(true);
    revoke(signer.address);
    expect(await stillAuthorised(ports, account)).to.equal(false);
    expect(await stillAuthorised(ports, { merchant: SHOP, address: owner.address, role: "merchant" })).to.equal(true);
    expect(await stillAuthorised(ports, { merchant: { ...SHOP, address: stranger.address }, address: owner.address, role: "merchant" })).to.equal(false);
  });
});
