/**
 * Whether an RPC error says the node no longer has (or never had) the state of the block asked for: full nodes
 * prune state older than about 128 blocks. Such a read will never succeed on that node, unlike a timeout, a 5xx or
 * an unknown block (a provider behind the others: another may know it).
 */
const STATE_GONE = [/missing trie node/i, /state (is )?not available/i, /no state available/i, /state.*(pruned|unavailable)/i, /historical state/i];

export function isStateUnavailable(error: unknown): boolean {
  const texts: string[] = [];
  for (let current: unknown = error, depth = 0; current && typeof current === "object" && depth < 8; depth++) {
    const { message, details, shortMessage } = current as Record<string, unknown>;
    for (const text of [message, details, shortMessage]) if (typeof text === "string") texts.push(text);
    current = (current as { cause?: unknown }).cause;
  }
  const text = texts.join(" ");
  return STATE_GONE.some((pattern) => pattern.test(text));
}
