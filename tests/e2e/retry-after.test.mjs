// Retry-After parsing (js/retry-after.js, as built into dist/): delta-seconds
// and the three HTTP-date forms of RFC 9110. Pure logic, so it runs in Node;
// contract.test.mjs (B6 Retry-After) covers it in Chromium behind a real server.
import test from "node:test";
import assert from "node:assert/strict";
import { parseHttpDate, retryAfterMs } from "../../dist/retry-after.js";

const NOW = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT

test("B6 Retry-After: delta-seconds, dates from now, a past date is 0, anything else -1", () => {
  assert.equal(retryAfterMs("120", NOW), 120_000);
  assert.equal(retryAfterMs(" \t0 ", NOW), 0);
  assert.equal(retryAfterMs("Sun, 06 Nov 1994 08:49:47 GMT", NOW), 10_000);
  assert.equal(retryAfterMs("Sunday, 06-Nov-94 08:49:39 GMT", NOW), 2_000);
  assert.equal(retryAfterMs("Sun Nov  6 08:49:38 1994", NOW), 1_000);
  assert.equal(retryAfterMs(" Sun Nov  6 08:49:38 1994\t", NOW), 1_000);
  assert.equal(retryAfterMs("Sat, 05 Nov 1994 08:49:37 GMT", NOW), 0);
  // Too long for an f64: infinity, which maxRetryAfterMs caps (engine test b6_retry_after_wins_and_is_capped_alone).
  assert.equal(retryAfterMs("9".repeat(400), NOW), Infinity);
  for (const bad of ["", " ", "-1", "+1", "1.5", "1e3", "0x10", "soon", "\u00a01", "1\n", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT"]) {
    assert.equal(retryAfterMs(bad, NOW), -1, JSON.stringify(bad));
  }
  // Long runs of whitespace, inside and around (a server's or a proxy's): read in linear time.
  const pad = " \t".repeat(100_000);
  assert.equal(retryAfterMs(`${pad}7${pad}`, NOW), 7000);
  assert.equal(retryAfterMs(`1${pad}x`, NOW), -1);
  assert.equal(retryAfterMs(`Sun,${" ".repeat(200_000)}06 Nov 1994 08:49:47 GMT`, NOW), 10_000);
});

test("B6 HTTP-dates: the three forms read exactly; robust about separators, strict about the fields", () => {
  const at = 784_111_777_000;
  for (const good of [
    "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun Nov 06 08:49:37 1994",
    // What the RFC's grammar does not allow but a robust recipient reads (as the Rust parser before it did).
    "Sun, 6 Nov 1994 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Sun 06 Nov 1994 08:49:37 GMT", "Sun,  06 Nov 1994 08:49:37 GMT",
    "Sun, 06-Nov-1994 08:49:37 GMT", "sun, 06 Nov 1994 08:49:37 GMT", "Mon, 06 Nov 1994 08:49:37 GMT",
  ]) {
    assert.equal(parseHttpDate(good, NOW), at, good);
  }
  for (const bad of [
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37",
    "Sun, 06 Nov 1994 08:49:37 GMT extra",
    "Sun Nov  6 08:49:37 94",
    "Sun, 06 Nov 994 08:49:37 GMT",
    "Sun, 006 Nov 1994 08:49:37 GMT",
    "Sun Nov  6 8:49:37 1994",
    "Sun Nov  6 08:49:37 1994 GMT",
    "Sun, 06 November 1994 08:49:37 GMT",
    "Sun, 06 nov 1994 08:49:37 GMT",
    "Sun, 06 Nox 1994 08:49:37 GMT",
    "Sun, 06 Ja 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 24:00:00 GMT",
    "Sun, 06 Nov 1994 08:60:00 GMT",
    "Sun, 06 Nov 1994 08:49:61 GMT",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 32 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 GMT\n",
    "Sun,\t06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94$08:49:37 GMT",
    "2026-12-01T10:00:00Z",
    "1994-11-06",
    "",
  ]) {
    assert.ok(Number.isNaN(parseHttpDate(bad, NOW)), JSON.stringify(bad));
  }
});

test("B6 HTTP-dates: epoch, leap day, leap second, a day past the month's end, two-digit years nearest now", () => {
  assert.equal(parseHttpDate("Thu, 01 Jan 1970 00:00:00 GMT", NOW), 0);
  assert.equal(parseHttpDate("Thu, 29 Feb 2024 00:00:00 GMT", NOW), 1_709_164_800_000);
  assert.equal(parseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT", NOW), Date.UTC(2017, 0, 1));
  assert.equal(parseHttpDate("Thu, 31 Nov 1994 00:00:00 GMT", NOW), Date.UTC(1994, 11, 1)); // as the day count goes
  assert.equal(parseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT", NOW), Date.UTC(9999, 11, 31, 23, 59, 59));
  // RFC 9110: a two-digit year that seems more than 50 years ahead is in the past.
  const in2026 = Date.UTC(2026, 11, 1);
  const year = (yy, now) => new Date(parseHttpDate(`Monday, 01-Jan-${yy} 00:00:00 GMT`, now)).getUTCFullYear();
  assert.equal(year("76", in2026), 2076);
  assert.equal(year("77", in2026), 1977);
  assert.equal(year("26", in2026), 2026);
  assert.equal(year("00", in2026), 2000);
  assert.equal(year("94", NOW), 1994);
  assert.equal(year("44", NOW), 2044);
  assert.equal(year("45", NOW), 1945);
  assert.equal(year("10", Date.UTC(2090, 0, 1)), 2110);
});

test("B6 HTTP-dates: every instant written in each form reads back (seeded)", () => {
  let seed = 7;
  const rand = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
  const MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(" ");
  const two = (n) => String(n).padStart(2, "0");
  for (let i = 0; i < 5000; i++) {
    // Whole seconds from 1970 to 9999.
    const ms = Math.floor(rand() * 253_402_300_800) * 1000;
    const now = ms + Math.floor((rand() - 0.5) * 1.5e12); // within ~24 years: two-digit years read back
    const d = new Date(ms);
    const [Y, M, D, h, m, s, wd] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCDay()];
    const time = `${two(h)}:${two(m)}:${two(s)}`;
    const imf = d.toUTCString(); // IMF-fixdate, as servers write it
    assert.equal(parseHttpDate(imf, now), ms, imf);
    const asctime = `${DAYS[wd].slice(0, 3)} ${MONTHS[M]} ${String(D).padStart(2, " ")} ${time} ${Y}`;
    assert.equal(parseHttpDate(asctime, now), ms, asctime);
    const rfc850 = `${DAYS[wd]}, ${two(D)}-${MONTHS[M]}-${two(Y % 100)} ${time} GMT`;
    assert.equal(parseHttpDate(rfc850, now), ms, rfc850);
    assert.equal(retryAfterMs(imf, ms - 1000), 1000, imf);
  }
});
