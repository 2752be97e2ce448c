// @ts-check
/**
 * `Retry-After` (SPEC B6), read by the facade: the engine decides with the
 * wait in milliseconds. A date parser costs the wasm module ~0.7 KB gzipped;
 * here it is three regular expressions and `Date.UTC`.
 *
 * Plain JavaScript (type-checked by tsc), so that its Node test
 * (tests/e2e/retry-after.test.mjs) imports it as built.
 *
 * @internal
 */

/** IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` and RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`. */
const GMT = /^[A-Z][a-z]{2,8}, (\d\d)[ -]([A-Z][a-z]{2})[ -](\d\d|\d{4}) (\d\d):(\d\d):(\d\d) GMT$/;
/** asctime `Sun Nov  6 08:49:37 1994` (the day padded with a space). */
const ASCTIME = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d{4})$/;
const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, RFC 850, asctime) as
 * milliseconds since the Unix epoch; NaN for anything else. Strict about the
 * fields, lenient about the separators of the first two forms (space or `-`)
 * and about the weekday, which is not checked against the date. A two-digit
 * year below 70 is 20xx, otherwise 19xx.
 * @param {string} v
 * @returns {number}
 */
export function parseHttpDate(v) {
  let m = GMT.exec(v), day, month, year, h, mi, s;
  if (m) {
    [, day, month, year, h, mi, s] = m;
    if (year.length === 2) year = +year + (+year < 70 ? 2000 : 1900);
  } else if ((m = ASCTIME.exec(v))) {
    [, month, day, h, mi, s, year] = m;
  } else {
    return NaN;
  }
  const mon = MONTHS.indexOf(month);
  if (mon % 3 !== 0 || +day < 1 || +day > 31 || +h > 23 || +mi > 59 || +s > 60) return NaN;
  // Date.UTC reads years 0-99 as 1900-1999: such a date is long past either way.
  return Date.UTC(+year, mon / 3, +day, +h, +mi, +s);
}

/**
 * A `Retry-After` value in milliseconds from `now` (a past date gives 0), or
 * -1 when it is neither delta-seconds nor an HTTP-date.
 * @param {string} value
 * @param {number} now
 * @returns {number}
 */
export function retryAfterMs(value, now) {
  const v = value.replace(/^[ \t]+|[ \t]+$/g, ""); // HTTP's optional whitespace only
  if (/^\d+$/.test(v)) return +v * 1000; // a very long value is Infinity: capped by maxRetryAfterMs
  const at = parseHttpDate(v);
  return at === at ? Math.max(at - now, 0) : -1;
}
