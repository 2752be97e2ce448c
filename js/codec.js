// @ts-check
/**
 * The stored form of a key (SPEC B5), at the storage boundary.
 *
 * localStorage holds `{ key, fingerprint, createdAt, expiresAt, state }` as
 * JSON. The wasm engine reads and writes a *record* instead, one field per
 * line — `p|s LF createdAt LF expiresAt LF fingerprint LF key LF` (src/entry.rs)
 * — so that no JSON reader or writer is compiled into it: here they are
 * `JSON.parse` and `JSON.stringify`, which cost nothing.
 *
 * Plain JavaScript (type-checked by tsc): the browser tests' wasm-bindgen
 * build imports this same file.
 *
 * @internal
 */

/**
 * A stored value as a record; `""` for anything that is not an entry (the
 * engine then falls back to memory, SPEC B10). The engine checks the key;
 * timestamps must be whole milliseconds an f64 holds exactly (what the
 * engine writes: anything else came from another writer).
 * @param {string} json
 * @returns {string}
 */
export function toRecord(json) {
  try {
    // Own fields only: a null-prototype copy (nothing read from Object.prototype).
    const { key, fingerprint, createdAt, expiresAt, state } = Object.assign(Object.create(null), JSON.parse(json));
    if (typeof key === "string" && typeof fingerprint === "string" && Number.isSafeInteger(createdAt)
      && Number.isSafeInteger(expiresAt) && (state === "pending" || state === "settled")) {
      // A LF in the key or the fingerprint makes a line too many: the engine refuses the record.
      return `${state[0]}\n${createdAt}\n${expiresAt}\n${fingerprint}\n${key}\n`;
    }
  } catch {
    // Not JSON, or null: not an entry.
  }
  return "";
}

/**
 * A record the engine wrote, as the JSON stored.
 * @param {string} record
 * @returns {string}
 */
export function toJson(record) {
  const [state, createdAt, expiresAt, fingerprint, key] = record.split("\n");
  return JSON.stringify({ key, fingerprint, createdAt: +createdAt, expiresAt: +expiresAt, state: state === "p" ? "pending" : "settled" });
}
