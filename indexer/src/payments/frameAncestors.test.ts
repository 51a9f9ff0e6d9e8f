import { expect } from "chai";
import { checkoutCsp, parseFrameOrigin } from "./frameAncestors";

describe("origins allowed to frame the checkout", function () {
  it("takes https origins, with a port, in their normal form, and http only for localhost", function () {
    expect(parseFrameOrigin("https://Shop.Example")).to.deep.equal({ origin: "https://shop.example" });
    expect(parseFrameOrigin("https://shop.example:8443/")).to.deep.equal({ origin: "https://shop.example:8443" });
    expect(parseFrameOrigin("http://localhost:3000")).to.deep.equal({ origin: "http://localhost:3000" });
    expect(parseFrameOrigin("http://127.0.0.1:5173")).to.deep.equal({ origin: "http://127.0.0.1:5173" });
  });

  it("refuses anything that is not exactly an origin, saying why", function () {
    const problem = (value: string) => (parseFrameOrigin(value) as { problem: string }).problem;
    expect(problem("http://shop.example")).to.include("must use https");
    expect(problem("javascript:alert(1)")).to.include("must use https");
    expect(problem("shop.example")).to.include("is not an origin");
    expect(problem("https://shop.example/checkout")).to.include("no path");
    expect(problem("https://shop.example?x=1")).to.include("no path, query");
    expect(problem("https://user:pw@shop.example")).to.include("credentials");
    expect(problem("https://*.shop.example")).to.include("wildcards");
    expect(problem("https://shop.example 'unsafe-inline'")).to.satisfy((text: string) => text.length > 0);
  });

  it("lets only the listed origins frame the page, none when the list is empty", function () {
    expect(checkoutCsp([])).to.match(/frame-ancestors 'none'$/);
    expect(checkoutCsp(["https://a.example", "http://localhost:3000"])).to.match(/frame-ancestors https:\/\/a\.example http:\/\/localhost:3000$/);
    expect(checkoutCsp([])).to.include("default-src 'none'").and.include("connect-src 'self'");
  });
});
