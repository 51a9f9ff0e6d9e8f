import { expect } from "chai";
import { barChartSvg } from "./overviewCharts";

const heights = (svg: string) => [...svg.matchAll(/<rect class="chart-bar" x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/g)].map((m) => Number(m[4]));

describe("barChartSvg", function () {
  it("scales bars exactly to the tallest, in integers, whatever the size of the values", function () {
    const big = 10n ** 30n;
    const svg = barChartSvg("Volume", [
      { label: "a", value: big, text: "1" },
      { label: "b", value: big / 2n, text: "0.5" },
      { label: "c", value: 0n, text: "0" },
      { label: "d", value: big / 3n, text: "0.33" },
    ]);
    // 140 high at most: 140, 70, 0 and floor(140 / 3) = 46.
    expect(heights(svg)).to.deep.equal([140, 70, 0, 46]);
    expect(svg).to.include('<rect class="chart-bar" x="15" y="0" width="120" height="140">');
    expect(svg).to.include('<rect class="chart-bar" x="165" y="70" width="120" height="70">');
  });

  it("reads every figure out in its aria-label and titles, escaped, and has no style attribute (CSP)", function () {
    const svg = barChartSvg("Paid <volume>", [
      { label: "12-01", value: 3n, text: "3.00 USD" },
      { label: "12-02", value: 0n, text: "0.00 USD" },
    ]);
    expect(svg).to.match(/^<svg class="chart" viewBox="0 0 600 164" role="img" aria-label="Paid &lt;volume&gt;: 12-01 3.00 USD; 12-02 0.00 USD">/);
    expect(svg).to.include("<title>12-01: 3.00 USD</title>");
    expect(svg).to.not.match(/style=/);
  });

  it("draws nothing taller than zero when every value is zero, and writes only the labels asked for", function () {
    const svg = barChartSvg(
      "Nothing",
      Array.from({ length: 30 }, (_, i) => ({ label: `d${i}`, value: 0n, text: "0" })),
      (i) => i === 29,
    );
    expect(heights(svg)).to.deep.equal(Array(30).fill(0));
    expect([...svg.matchAll(/<text /g)]).to.have.length(1);
    expect(svg).to.include(">d29</text>");
  });
});
