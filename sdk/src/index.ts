export { OpenPay, SDK_VERSION, type OpenPayOptions } from "./client";
export { OpenPayError, WebhookVerificationError, type WebhookErrorReason } from "./errors";
export { sendMerchantTransaction, type Eip1193Provider } from "./merchantTransactions";
export { verifyWebhook, type WebhookRequestHeaders } from "./webhooks";
export type * from "./types";
