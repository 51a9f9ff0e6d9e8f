import { expect } from "chai";
import { withReachableSchemas } from "./reachableSchemas";

describe("withReachableSchemas", function () {
  const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

  it("keeps the schemas the operations use, directly or through other schemas, and drops the rest", function () {
    const document = {
      openapi: "3.1.0",
      paths: { "/v1/payments": { get: { responses: { 200: { content: { "application/json": { schema: ref("PaymentList") } } } } } } },
      components: {
        securitySchemes: { apiKey: { type: "http" } },
        schemas: {
          PaymentListInput: { type: "object", properties: { data: { type: "array", items: ref("PaymentInput") } } },
          PaymentInput: { type: "object" },
          PaymentList: { type: "object", properties: { data: { type: "array", items: ref("Payment") } } },
          Payment: { type: "object", properties: { options: { type: "array", items: ref("PaymentOption") } } },
          PaymentOption: { type: "object" },
        },
      },
    };
    const pruned = withReachableSchemas(document);
    expect(Object.keys(pruned.components.schemas)).to.deep.equal(["PaymentList", "Payment", "PaymentOption"]);
    expect(pruned.components.securitySchemes).to.deep.equal({ apiKey: { type: "http" } });
    expect(pruned.paths).to.equal(document.paths);
  });

  it("keeps the schemas of the webhooks' bodies", function () {
    const document = {
      paths: {},
      webhooks: { payment: { post: { requestBody: { content: { "application/json": { schema: ref("PaymentWebhookEvent") } } } } } },
      components: { schemas: { PaymentWebhookEvent: { properties: { data: ref("Payment") } }, Payment: {}, PaymentInput: {} } },
    };
    expect(Object.keys(withReachableSchemas(document).components!.schemas!)).to.deep.equal(["PaymentWebhookEvent", "Payment"]);
  });

  it("ends on schemas that refer to each other", function () {
    const document = {
      paths: { "/a": { get: { responses: { 200: { content: { "application/json": { schema: ref("Node") } } } } } } },
      components: { schemas: { Node: { properties: { next: ref("Node"), other: ref("Leaf") } }, Leaf: {}, Unused: { properties: { back: ref("Node") } } } },
    };
    expect(Object.keys(withReachableSchemas(document).components!.schemas!)).to.deep.equal(["Node", "Leaf"]);
  });

  it("leaves a document without named schemas as it is", function () {
    const document = { paths: {} };
    expect(withReachableSchemas(document)).to.equal(document);
  });
});
