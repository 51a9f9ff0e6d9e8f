import { expect } from "chai";
import { isStateUnavailable } from "./stateAvailability";

describe("isStateUnavailable", function () {
  it("recognises the messages nodes give for pruned state, also wrapped in viem's errors", function () {
    for (const message of [
      "missing trie node 5b0c… (path ) <nil>",
      "No state available for block 0x12ab",
      "state is not available",
      "requested historical state is not available",
    ]) {
      expect(isStateUnavailable(new Error(message)), message).to.equal(true);
      expect(isStateUnavailable({ shortMessage: "An internal error was received.", cause: { details: message } })).to.equal(true);
    }
  });

  it("leaves failures that retrying can cure to be retried", function () {
    for (const message of [
      "fetch failed",
      "The request took too long to respond.",
      "HTTP request failed. Status: 503",
      "header for hash not found",
      "unknown block",
    ]) {
      expect(isStateUnavailable(new Error(message)), message).to.equal(false);
    }
  });
});
