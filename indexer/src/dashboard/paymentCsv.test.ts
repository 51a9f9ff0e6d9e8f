import { expect } from "chai";
import { CSV_HEADER, csvField } from "./paymentCsv";

describe("payment CSV", () => {
  it("quotes fields with commas, quotes and line breaks, and leaves plain ones bare", () => {
    expect(csvField("12.50")).to.equal("12.50");
    expect(csvField("a,b")).to.equal('"a,b"');
    expect(csvField('say "hi"')).to.equal('"say ""hi"""');
    expect(csvField("two\nlines")).to.equal('"two\nlines"');
    expect(csvField(null)).to.equal("");
  });

  it("keeps text a spreadsheet would run as a formula as text", () => {
    expect(csvField("=HYPERLINK(1)")).to.equal("'=HYPERLINK(1)");
    expect(csvField("+1")).to.equal("'+1");
    expect(csvField("@SUM(A1),x")).to.equal(`"'@SUM(A1),x"`);
  });

  it("names the columns in its header line", () => {
    expect(CSV_HEADER).to.match(/^id,created_at,status,order_id,.*,amount_usd,.*,deposit_address,updated_at\r\n$/);
  });
});
