import { readFileSync, writeFileSync } from "node:fs";
import type { Hex } from "viem";
import type { PaymentIntent } from "../../indexer/src/payments/paymentIntent";
import { signedIntentFromJson, signedIntentToJson } from "../../indexer/src/payments/signedIntentJson";
import { required } from "./arguments";
import { OperatorError } from "./operatorError";

/** Reads a signed intent saved as JSON (by `simulate --save`, or from the API's payment). */
export function readIntentFile(option: string, value: string | undefined): { intent: PaymentIntent; signature: Hex } {
  const file = required(option, value);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new OperatorError(`--${option}: cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return signedIntentFromJson(json);
  } catch (error) {
    throw new OperatorError(`--${option}: ${file}: ${(error as Error).message}`);
  }
}

export function writeIntentFile(file: string, intent: PaymentIntent, signature: Hex): void {
  writeFileSync(file, `${JSON.stringify(signedIntentToJson(intent, signature), null, 2)}\n`);
}
