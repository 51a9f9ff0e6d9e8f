import { expect } from "chai";
import { checkWebhookUrl, forbiddenReason, MAX_WEBHOOK_URL_LENGTH, parseAllowList } from "./webhookAddressPolicy";

describe("forbiddenReason", function () {
  it("lets public unicast addresses through, IPv4 and IPv6", function () {
    for (const ip of ["8.8.8.8", "1.1.1.1", "203.0.114.1", "2001:4860:4860::8888", "2a00:1450:4001::200e", "::ffff:8.8.8.8"]) {
      expect(forbiddenReason(ip, []), ip).to.equal(undefined);
    }
  });

  const refused: Array<[string, RegExp]> = [
    ["10.0.0.1", /private/],
    ["172.16.5.4", /private/],
    ["192.168.1.1", /private/],
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["169.254.169.254", /metadata/],
    ["169.254.1.1", /link-local/],
    ["100.100.100.200", /metadata/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /unspecified/],
    ["224.0.0.251", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["192.0.2.10", /reserved/],
    ["240.0.0.1", /reserved/],
    ["::1", /loopback/],
    ["::", /unspecified/],
    ["fe80::1", /link-local/],
    ["fe80::1%eth0", /link-local/],
    ["fc00::1", /unique-local/],
    ["fd12:3456::1", /unique-local/],
    ["fd00:ec2::254", /EC2 metadata/],
    ["ff02::1", /multicast/],
    ["2001:db8::1", /reserved/],
    ["fec0::1", /site-local/],
  ];
  for (const [ip, reason] of refused) {
    it(`refuses ${ip} (${reason.source})`, function () {
      expect(forbiddenReason(ip, [])).to.match(reason);
    });
  }

  it("refuses IPv6 forms that carry a forbidden IPv4 address: mapped, translated, NAT64, 6to4, compatible", function () {
    expect(forbiddenReason("::ffff:127.0.0.1", [])).to.match(/leads to 127\.0\.0\.1 is loopback/);
    expect(forbiddenReason("::ffff:a9fe:a9fe", [])).to.match(/169\.254\.169\.254 is the cloud metadata service/);
    expect(forbiddenReason("::ffff:0:10.0.0.1", [])).to.match(/10\.0\.0\.1 is private/);
    expect(forbiddenReason("64:ff9b::169.254.169.254", [])).to.match(/metadata/);
    expect(forbiddenReason("2002:0a00:0001::1", [])).to.match(/10\.0\.0\.1 is private/);
    expect(forbiddenReason("::127.0.0.1", [])).to.match(/loopback/);
    expect(forbiddenReason("64:ff9b::8.8.8.8", [])).to.equal(undefined);
  });

  it("lets the operator's allow-list win, in any notation of the address", function () {
    const allowList = parseAllowList("127.0.0.1/32,10.20.0.0/16,fd00:1::/32");
    expect(forbiddenReason("127.0.0.1", allowList)).to.equal(undefined);
    expect(forbiddenReason("::ffff:127.0.0.1", allowList)).to.equal(undefined);
    expect(forbiddenReason("10.20.3.4", allowList)).to.equal(undefined);
    expect(forbiddenReason("fd00:1::5", allowList)).to.equal(undefined);
    expect(forbiddenReason("127.0.0.2", allowList)).to.match(/loopback/);
    expect(forbiddenReason("10.21.0.1", allowList)).to.match(/private/);
    expect(forbiddenReason("169.254.169.254", allowList)).to.match(/metadata/);
  });

  it("says so when given something that is not an address", function () {
    expect(forbiddenReason("example.com", [])).to.match(/not an IP address/);
  });
});

describe("parseAllowList", function () {
  it("reads CIDRs separated by commas, spaces and empty entries ignored; a bare address is itself alone", function () {
    const ranges = parseAllowList(" 127.0.0.1/32, 10.0.0.0/8 ,,::1, 192.168.0.7");
    expect(ranges.map(([address, bits]) => `${address.toString()}/${bits}`)).to.deep.equal(["127.0.0.1/32", "10.0.0.0/8", "::1/128", "192.168.0.7/32"]);
  });

  it("is empty when unset", function () {
    expect(parseAllowList(undefined)).to.deep.equal([]);
    expect(parseAllowList("")).to.deep.equal([]);
  });

  it("names the entry that is not a CIDR", function () {
    expect(() => parseAllowList("127.0.0.1/32, 10.0.0.0/33")).to.throw(/WEBHOOK_ALLOWED_CIDRS: "10\.0\.0\.0\/33"/);
    expect(() => parseAllowList("localhost")).to.throw(/"localhost" is not a CIDR/);
  });
});

describe("checkWebhookUrl", function () {
  it("accepts public http and https URLs with ports, paths and queries", function () {
    for (const url of [
      "https://shop.example.com/webhooks/openpay",
      "http://shop.example.com:8080/hook?token=abc",
      "https://8.8.8.8/hook",
      "https://[2001:4860:4860::8888]/",
    ]) {
      expect(checkWebhookUrl(url, []), url).to.equal(undefined);
    }
  });

  it("refuses other schemes, credentials, fragments and garbage, saying why", function () {
    expect(checkWebhookUrl("ftp://example.com/", [])).to.match(/http or https, got ftp/);
    expect(checkWebhookUrl("file:///etc/passwd", [])).to.match(/http or https/);
    expect(checkWebhookUrl("javascript:alert(1)", [])).to.match(/http or https/);
    expect(checkWebhookUrl("https://user:pass@example.com/", [])).to.match(/user name or password/);
    expect(checkWebhookUrl("https://example.com/hook#part", [])).to.match(/fragment/);
    expect(checkWebhookUrl("https://example.com/hook#", [])).to.match(/fragment/);
    expect(checkWebhookUrl("not a url", [])).to.match(/absolute http/);
    expect(checkWebhookUrl("/relative", [])).to.match(/absolute http/);
  });

  it("refuses localhost by name, whatever the allow-list", function () {
    const allowList = parseAllowList("127.0.0.1/32");
    for (const url of ["http://localhost/", "http://LOCALHOST:3000/x", "http://localhost./", "https://api.localhost/hook"]) {
      expect(checkWebhookUrl(url, allowList), url).to.match(/localhost/);
    }
  });

  it("refuses forbidden IP literals in every notation the URL parser normalises", function () {
    for (const url of [
      "http://127.0.0.1/",
      "http://2130706433/",
      "http://0x7f.1/",
      "http://0177.0.0.1/",
      "http://[::1]/",
      "http://[::ffff:169.254.169.254]/latest/meta-data",
      "http://169.254.169.254/latest/meta-data",
      "http://10.0.0.5:8080/",
      "http://[fd00:ec2::254]/",
      "http://0.0.0.0/",
    ]) {
      expect(checkWebhookUrl(url, []), url).to.match(/non-public address/);
    }
  });

  it("accepts an IP literal the operator allows", function () {
    const allowList = parseAllowList("127.0.0.1/32");
    expect(checkWebhookUrl("http://127.0.0.1:4000/hook", allowList)).to.equal(undefined);
    expect(checkWebhookUrl("http://127.0.0.2:4000/hook", allowList)).to.match(/loopback/);
  });

  it(`refuses URLs longer than ${MAX_WEBHOOK_URL_LENGTH} characters`, function () {
    const base = "https://example.com/";
    expect(checkWebhookUrl(base + "a".repeat(MAX_WEBHOOK_URL_LENGTH - base.length), [])).to.equal(undefined);
    expect(checkWebhookUrl(base + "a".repeat(MAX_WEBHOOK_URL_LENGTH - base.length + 1), [])).to.match(/at most 2048/);
  });
});
