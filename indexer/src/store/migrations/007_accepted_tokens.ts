import { sql, type Kysely } from "kysely";

/**
 * Each payment's intent names the tokens it accepts, and each accepted token adds up apart on chain
 * (docs/contracts.md, "token-choice"):
 * - payments.accepted_token_mask: the intent's `acceptedTokens` (bit `i`: the escrow's token at index `i`);
 * - payments.accepted_tokens: the same tokens by address, comma-separated, in the order the checkout offers them;
 * - payments.other_deposits: JSON of what the payment holds in its accepted tokens other than `token`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable("payments")
    .addColumn("accepted_token_mask", sql.raw("numeric(78, 0)"), (c) => c.notNull().defaultTo(0))
    .addColumn("accepted_tokens", "text", (c) => c.notNull().defaultTo(""))
    .addColumn("other_deposits", "text", (c) => c.notNull().defaultTo("[]"))
    .execute();
}
