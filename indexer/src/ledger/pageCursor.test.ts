import { expect } from "chai";
import fc from "fast-check";
import { ApiError } from "./apiErrors";
import { decodeCursor, encodeCursor } from "./pageCursor";

const b64 = (text: string) => Buffer.from(text).toString("base64url");
/** Ids the API pages by: payment ids and event ids (visible ASCII, no `|`). */
const id = fc.oneof(
  fc.stringMatching(/^0x[0-9a-f]{64}$/),
  fc.stringMatching(/^msg_[0-9A-Za-z]{1,40}$/),
  fc.string({ unit: fc.constantFrom(..."abcXYZ019_-.:~!{}"), minLength: 1, maxLength: 60 }),
);
const rowTime = fc.date({ min: new Date("1970-01-01T00:00:00.000Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true });

function refusal(cursor: string, field?: string): ApiError {
  try {
    decodeCursor(cursor, field);
  } catch (error) {
    expect(error).to.be.instanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error(`cursor ${JSON.stringify(cursor)} was accepted`);
}

describe("page cursors", function () {
  it("decode to the row they were made from", function () {
    const at = new Date("2026-03-01T10:20:30.456Z");
    const cursor = encodeCursor(at, "0xabc");
    expect(cursor).to.match(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).to.deep.equal({ createdAt: at, id: "0xabc" });
    expect(decodeCursor(encodeCursor("2026-03-01T10:20:30.456Z", "msg_1"))).to.deep.equal({ createdAt: at, id: "msg_1" });
  });

  it("round-trip for any row time from 1970 to 9999 and any id", function () {
    fc.assert(
      fc.property(rowTime, id, (at, rowId) => {
        expect(decodeCursor(encodeCursor(at, rowId))).to.deep.equal({ createdAt: at, id: rowId });
      }),
      { numRuns: 300 },
    );
  });

  it("refuse what this API did not make with a 400 naming the parameter", function () {
    const bad = [
      "",
      "not a cursor",
      b64("2026-01-01T00:00:00.000Z"),
      b64("2026-01-01T00:00:00.000Z|"),
      b64("yesterday|0xab"),
      b64("2026-01-01T00:00:00.000Z|0xab|extra"),
      b64("2026-01-01T00:00:00.000Z|\u0000"),
      b64("2026-01-01T00:00:00.000Z|has space"),
      b64("2026-01-01T00:00:00.000Z|é"),
      b64(`2026-01-01T00:00:00.000Z|${"x".repeat(201)}`),
      // Times a database cannot compare: before 1970 is no row of this API, year -100000 is no timestamp at all.
      b64("-100000-01-01T00:00:00.000Z|0xab"),
      b64("+275760-09-13T00:00:00.000Z|0xab"),
      b64("1969-12-31T23:59:59.999Z|0xab"),
    ];
    for (const cursor of bad) {
      const error = refusal(cursor);
      expect(error.statusCode, cursor).to.equal(400);
      expect(error.field).to.equal("starting_after");
      expect(error.message).to.match(/^starting_after: not a cursor this API returned/);
    }
    expect(refusal("nope", "page").field).to.equal("page");
  });

  it("either decode to a row time the database can compare and a visible-ASCII id, or refuse with a 400: never anything else", function () {
    const anyCursor = fc.oneof(
      fc.string(),
      fc.base64String(),
      fc.tuple(fc.date(), fc.string()).map(([at, text]) => b64(`${Number.isNaN(at.getTime()) ? "x" : at.toISOString()}|${text}`)),
      fc.tuple(fc.string(), fc.string()).map(([time, text]) => b64(`${time}|${text}`)),
    );
    fc.assert(
      fc.property(anyCursor, (cursor) => {
        let decoded: { createdAt: Date; id: string };
        try {
          decoded = decodeCursor(cursor);
        } catch (error) {
          expect(error).to.be.instanceOf(ApiError);
          expect((error as ApiError).statusCode).to.equal(400);
          return;
        }
        expect(decoded.createdAt.getTime()).to.be.within(0, Date.UTC(9999, 11, 31, 23, 59, 59, 999));
        expect(decoded.id).to.match(/^[\x21-\x7e]+$/);
      }),
      { numRuns: 500 },
    );
  });
});
