/** `IOpenPayEscrow.Status` by its numeric value, as the escrow stores it. */
export const ESCROW_PAYMENT_STATUS = ["none", "open", "completed", "expired", "partially refunded", "refunded"] as const;

export function escrowPaymentStatus(value: bigint | number): string {
  return ESCROW_PAYMENT_STATUS[Number(value)] ?? `unknown (${value})`;
}
