// @ts-check
/**
 * `Retry-After` (SPEC B6), read by the facade: the engine decides with the
 * wait in milliseconds. A date parser cost the wasm module ~1.0 KB gzipped;
 * here it is a few regular expressions and `Date.UTC` (~0.3 KB).
 *
 * Plain JavaScript (type-checked by tsc), so that its Node test
 * (tests/e2e/retry-after.test.mjs) imports it as built.
 *
 * @internal
 */

/** The three-letter months of HTTP-dates. */
const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`,
 * RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`, asctime `Sun Nov  6 08:49:37 1994`)
 * as milliseconds since the Unix epoch; NaN for anything else.
 *
 * Read by its fields — runs of ASCII letters and digits separated by runs of
 * SP `,` `-` `:` (any other character: not a date) — and told apart by their
 * number: eight ending in `GMT`, or seven (asctime). Robust about the
 * separators, as RFC 9110 asks of recipients; strict about the fields. The
 * weekday is not checked. A two-digit year is the one nearest `now`'s, at
 * most 50 years ahead (RFC 9110: one that seems more than 50 years in the
 * future is in the past).
 * @param {string} v
 * @param {number} now
 * @returns {number}
 */
export function parseHttpDate(v, now) {
  const f = /^[ ,:\-A-Za-z0-9]*$/.test(v) ? v.match(/[A-Za-z0-9]+/g) ?? [] : [];
  let day, month, year, h, mi, s;
  if (f.length === 8 && f[7] === "GMT") [, day, month, year, h, mi, s] = f;
  else if (f.length === 7) [, month, day, h, mi, s, year] = f;
  else return NaN;
  const mon = MONTHS.indexOf(month);
  // Day 1-2 digits; hour, minute, second 2; year 4, or 2 in the first two forms.
  if (!/^\d\d?,\d\d,\d\d,\d\d,\d\d(\d\d)?$/.test(`${day},${h},${mi},${s},${year}`) || (year.length === 2 && f.length === 7)
    || month.length !== 3 || mon % 3 !== 0 || +day < 1 || +day > 31 || +h > 23 || +mi > 59 || +s > 60) return NaN;
  let y = +year;
  if (year.length === 2) {
    // The year with these last two digits from 49 years before now's to 50 after.
    const from = new Date(now).getUTCFullYear() - 49;
    y = from + ((((y - from) % 100) + 100) % 100);
  }
  // Date.UTC reads years 0-99 as 1900-1999: such a date is long past either way.
  return Date.UTC(y, mon / 3, +day, +h, +mi, +s);
}

/**
 * A `Retry-After` value in milliseconds from `now` (a past date gives 0), or
 * -1 when it is neither delay-seconds nor an HTTP-date.
 * @param {string} value
 * @param {number} now
 * @returns {number}
 */
export function retryAfterMs(value, now) {
  // HTTP's optional whitespace (SP, HTAB) trimmed in one pass: a regular
  // expression for it backtracks quadratically over a long run of spaces.
  let a = 0, b = value.length;
  while (a < b && (value[a] === " " || value[a] === "\t")) a++;
  while (b > a && (value[b - 1] === " " || value[b - 1] === "\t")) b--;
  const v = value.slice(a, b);
  if (/^\d+$/.test(v)) return +v * 1000; // a very long value is Infinity: capped by maxRetryAfterMs
  const at = parseHttpDate(v, now);
  return at === at ? Math.max(at - now, 0) : -1;
}
