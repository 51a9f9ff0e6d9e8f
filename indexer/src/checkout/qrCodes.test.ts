import { expect } from "chai";
import { qrSvg } from "./qrCodes";

describe("qrSvg", function () {
  const uri = "ethereum:0x55d398326f99059fF775485246999027B3197955@56/transfer?address=0x326D1E0C82CBa596ed3B483E389838e5743E1cbd&uint256=25000000000000000000";

  it("draws a URI's QR code as an SVG, and the same one again from the cache", async function () {
    const first = qrSvg(uri);
    expect(qrSvg(uri)).to.equal(first);
    const svg = await first;
    expect(svg).to.match(/^<svg[^>]*viewBox="0 0 \d+ \d+"/);
    expect(await qrSvg(uri)).to.equal(svg);
  });

  it("draws another URI's code differently", async function () {
    const other = await qrSvg(uri.replace("uint256=25", "uint256=26"));
    expect(other).to.not.equal(await qrSvg(uri));
  });
});
