// The storage codec (js/codec.js, as built into dist/): the SPEC's JSON entry
// <-> the engine's record. Pure logic, so it runs in Node; the browser tests
// (contract.test.mjs, B5 and B10) cover it behind real localStorage.
import test from "node:test";
import assert from "node:assert/strict";
import { toJson, toRecord } from "../../dist/codec.js";

/** A small deterministic PRNG (mulberry32), so a failure names its seed. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Records as the engine writes them: a header-value key, a hex or empty fingerprint, safe-integer times. */
function records(n, seed) {
  const r = rng(seed);
  const pick = (s) => s[Math.floor(r() * s.length)];
  const visible = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("") + "\t";
  const out = [];
  for (let i = 0; i < n; i++) {
    const len = 1 + Math.floor(r() * 40);
    let key = Array.from({ length: len }, () => pick(visible)).join("").trim();
    if (key === "") key = "k";
    const fingerprint = r() < 0.2 ? "" : Array.from({ length: 16 }, () => pick("0123456789abcdef")).join("");
    const time = () => pick([0, 1, -1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, Math.floor(r() * 2e12), -Math.floor(r() * 1e9)]);
    out.push(`${pick("ps")}\n${time()}\n${time()}\n${fingerprint}\n${key}\n`);
  }
  return out;
}

test("codec: every record the engine writes survives toJson then toRecord unchanged", () => {
  for (const record of records(2000, 7)) {
    const json = toJson(record);
    assert.equal(toRecord(json), record, json);
  }
});

test("codec: toJson writes the SPEC's entry, fields in order, typed", () => {
  const json = toJson("s\n1700000000000\n1700086400000\n0123456789abcdef\n8e03978e-40d5-43e8-bc93-6894a57f9324\n");
  assert.equal(json, '{"key":"8e03978e-40d5-43e8-bc93-6894a57f9324","fingerprint":"0123456789abcdef","createdAt":1700000000000,"expiresAt":1700086400000,"state":"settled"}');
  assert.equal(JSON.parse(toJson("p\n-5\n0\n\na \"q\" \\ b\n")).key, 'a "q" \\ b');
});

test("codec: another writer's spelling is read (order, whitespace, extra and nested fields)", () => {
  const text = ' { "state" : "pending", "v": 2, "meta": {"by": ["x"]}, "expiresAt": 2e3, "key": "k\\u0041",\n "createdAt": -0, "fingerprint": "" } ';
  assert.equal(toRecord(text), "p\n0\n2000\n\nkA\n");
});

test("codec: what is not an entry becomes \"\" (the engine refuses it and falls back)", () => {
  const full = { key: "k", fingerprint: "", createdAt: 1, expiresAt: 2, state: "pending" };
  const bad = [
    "", "not json", "{broken", "null", "[]", "[1,2]", "1", '"text"', "true", "{}",
    JSON.stringify({ ...full, state: "weird" }),
    JSON.stringify({ ...full, key: 1 }),
    JSON.stringify({ ...full, fingerprint: null }),
    JSON.stringify({ ...full, createdAt: "1" }),
    JSON.stringify({ ...full, expiresAt: 1.5 }),
    JSON.stringify({ ...full, expiresAt: 9007199254740992 }),
    JSON.stringify({ ...full, createdAt: 1e300 }),
    JSON.stringify({ key: "k", fingerprint: "", createdAt: 1, expiresAt: 2 }),
    // The fields inside a "__proto__" member are not the entry's own.
    `{"__proto__": ${JSON.stringify(full)}}`,
  ];
  for (const text of bad) assert.equal(toRecord(text), "", text);
});

test("codec: fields are read from the entry itself, never from Object.prototype", () => {
  const names = ["key", "fingerprint", "createdAt", "expiresAt", "state"];
  const values = ["k", "", 1, 2, "pending"];
  names.forEach((n, i) => Object.defineProperty(Object.prototype, n, { value: values[i], configurable: true, writable: true }));
  try {
    assert.equal(toRecord("{}"), "");
    assert.equal(toRecord('{"key":"mine"}'), "");
  } finally {
    for (const n of names) delete Object.prototype[n];
  }
});

test("codec: a LF in the key or fingerprint leaves the record with a line too many", () => {
  const r = toRecord(JSON.stringify({ key: "k\nX-Evil: 1", fingerprint: "", createdAt: 1, expiresAt: 2, state: "pending" }));
  assert.equal(r.split("\n").length, 7, JSON.stringify(r)); // the engine reads exactly five terminated lines
  const f = toRecord(JSON.stringify({ key: "k", fingerprint: "a\nb", createdAt: 1, expiresAt: 2, state: "pending" }));
  assert.equal(f.split("\n").length, 7, JSON.stringify(f));
});
