/**
 * An answer a provider gave that the chain itself contradicts: the indexer never applies it, moves to another
 * provider and asks again (`openpay_indexer_provider_faults_total{kind}` counts them).
 * - `missing_logs`: the block's receipts hold logs of the escrow or of a watched deposit address that `eth_getLogs`
 *   left out (a log index lagging its headers, a node behind a load balancer);
 * - `foreign_logs`: logs whose block hash is not that of the block the indexer holds at their height (another
 *   branch's logs, or logs of a block the provider's headers do not show);
 * - `broken_chain`: headers of one range that do not link by parent hash (answers from two branches);
 * - `unknown_block`: a block the provider reported is then unknown to it.
 */
export type ProviderFaultKind = "missing_logs" | "foreign_logs" | "broken_chain" | "unknown_block";

export class ProviderFault extends Error {
  override name = "ProviderFault";
  constructor(
    readonly kind: ProviderFaultKind,
    message: string,
  ) {
    super(message);
  }
}
