import { expect } from "chai";
import { clearedSessionCookie, cookieSecurity, cookieValue, sessionCookie } from "./sessionCookie";

describe("dashboard session cookie", () => {
  it("reads one cookie out of a Cookie header", () => {
    expect(cookieValue("a=1; openpay_dashboard=abc-_9; b=2", "openpay_dashboard")).to.equal("abc-_9");
    expect(cookieValue("xopenpay_dashboard=abc", "openpay_dashboard")).to.equal(undefined);
    expect(cookieValue("openpay_dashboard=", "openpay_dashboard")).to.equal(undefined);
    expect(cookieValue(undefined, "openpay_dashboard")).to.equal(undefined);
  });

  it("sets the cookie HttpOnly, SameSite=Strict, on /dashboard, for the session's life, Secure when asked", () => {
    expect(sessionCookie("id1", { secure: true, maxAgeSeconds: 1800.7 })).to.equal(
      "openpay_dashboard=id1; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=1800; Secure",
    );
    expect(sessionCookie("id1", { secure: false, maxAgeSeconds: 60 })).to.equal(
      "openpay_dashboard=id1; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=60",
    );
    expect(clearedSessionCookie({ secure: true })).to.match(/^openpay_dashboard=; .*Max-Age=0; Secure$/);
  });

  it("is Secure on https, not on http to the operator's own machine, and refused on http elsewhere", () => {
    expect(cookieSecurity("https://pay.shop.example")).to.equal(true);
    expect(cookieSecurity("http://127.0.0.1:8080")).to.equal(false);
    expect(cookieSecurity("http://localhost:8080")).to.equal(false);
    expect(cookieSecurity("http://pay.shop.example")).to.equal(undefined);
  });
});
