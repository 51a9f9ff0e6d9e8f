import { expect } from "chai";
import { rowBoolean } from "./rowBoolean";

describe("rowBoolean", function () {
  it("reads true as a boolean or as PostgreSQL's text, and everything else (the text false, null) as false", function () {
    expect([true, "true", "t"].map(rowBoolean)).to.deep.equal([true, true, true]);
    expect([false, "false", "f", null, undefined].map(rowBoolean)).to.deep.equal([false, false, false, false, false]);
  });
});
