// Bundles oncefetch and the competitors with esbuild (minified ESM) and
// measures raw, gzip -9 and brotli (quality 11) sizes with node's zlib. Also
// builds bench/build/libs.js, the competitors as one module for the bench page.
import path from "node:path";
import fs from "node:fs";
import zlib from "node:zlib";
import { build } from "esbuild";

const compress = (buf) => ({
  raw: buf.length,
  gzip: zlib.gzipSync(buf, { level: 9 }).length,
  brotli: zlib.brotliCompressSync(buf, {
    params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: buf.length },
  }).length,
});

const DEFINE = { "process.env.NODE_ENV": '"production"' };

async function bundle(root, contents, external = [], inputs = null) {
  const r = await build({
    stdin: { contents, resolveDir: root, loader: "js", sourcefile: "entry.js" },
    bundle: true, minify: true, format: "esm", platform: "browser", target: "es2022",
    define: DEFINE, external, write: false, logLevel: "silent", legalComments: "none", metafile: true,
    outfile: "out.js",
  });
  if (inputs) {
    for (const out of Object.values(r.metafile.outputs)) {
      for (const [file, v] of Object.entries(out.inputs)) inputs[file.replace(/^.*\/dist\//, "dist/")] = v.bytesInOutput;
    }
  }
  return Buffer.from(r.outputFiles[0].contents);
}

/** The size table rows: { name, parts: [{ what, raw, gzip, brotli }], total }. */
export async function measureSizes(root, pkg, outDir) {
  fs.mkdirSync(path.join(outDir, "size"), { recursive: true });
  const rows = [];
  const add = (name, note, parts) => {
    const total = { raw: 0, gzip: 0, brotli: 0 };
    for (const p of parts) for (const k of Object.keys(total)) total[k] += p[k];
    rows.push({ name, note, parts, total });
  };

  // oncefetch: facade + tabs + the wasm interface as one minified module, the wasm beside it.
  const inputs = {};
  const ofJs = await bundle(pkg, `export { createClient } from "./dist/index.js";`, [], inputs);
  fs.writeFileSync(path.join(outDir, "size", "oncefetch.min.js"), ofJs);
  const wasm = fs.readFileSync(path.join(pkg, "dist/wasm/oncefetch_bg.wasm"));
  rows.jsInputs = inputs; // minified bytes each source file contributes
  add("oncefetch", "dist/index.js bundled (facade + tabs + wasm interface) + dist/wasm/oncefetch_bg.wasm", [
    { what: "JS (facade + wasm interface)", ...compress(ofJs) },
    { what: "wasm", ...compress(wasm) },
  ]);

  const others = [
    ["@tanstack/query-core", `export * from "@tanstack/query-core";`, [], "whole package (export *)"],
    ["swr", `export * from "swr"; export { default } from "swr";`, ["react", "react-dom"], "main entry, react external (dequal + use-sync-external-store shim included)"],
    ["ky", `export { default } from "ky";`, [], "default export"],
    ["wretch + dedupe + retry", `export { default } from "wretch"; export { dedupe } from "wretch/middlewares/dedupe"; export { retry } from "wretch/middlewares/retry";`, [], "core + dedupe and retry middlewares"],
    ["idmp", `export { default } from "idmp";`, [], "default export, NODE_ENV=production"],
  ];
  for (const [name, src, external, note] of others) {
    const js = await bundle(root, src, external);
    fs.writeFileSync(path.join(outDir, "size", `${name.replace(/[^a-z0-9]+/gi, "_")}.min.js`), js);
    add(name, note, [{ what: "JS", ...compress(js) }]);
  }
  return rows;
}

/** bench/build/libs.js: wretch + dedupe and idmp for the bench page (production mode). */
export async function buildPageLibs(root, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const js = await bundle(root, `
    export { default as wretch } from "wretch";
    export { dedupe } from "wretch/middlewares/dedupe";
    export { default as idmp } from "idmp";
  `);
  fs.writeFileSync(path.join(outDir, "libs.js"), js);
}

/**
 * Where the wasm's bytes go: code size per function, from a copy of the
 * cargo output optimised like the shipped one (-Oz) but keeping the
 * name section. Returns [{ name, bytes }] sorted by size, and the code total.
 */
export function wasmFunctionSizes(wasmBytes) {
  const b = wasmBytes;
  let i = 8;
  const leb = () => { let r = 0, s = 0, x; do { x = b[i++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; };
  let importedFuncs = 0;
  const bodies = [];
  const names = new Map();
  while (i < b.length) {
    const id = b[i++];
    const size = leb();
    const end = i + size;
    if (id === 2) { // imports: count function imports
      const n = leb();
      for (let k = 0; k < n; k++) {
        for (let s = 0; s < 2; s++) { const l = leb(); i += l; }
        const kind = b[i++];
        if (kind === 0) { leb(); importedFuncs++; }
        else if (kind === 1) { i++; const f = leb(); leb(); if (f & 1) leb(); }
        else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); }
        else if (kind === 3) { i += 2; }
        else if (kind === 4) { i++; leb(); }
      }
    } else if (id === 10) {
      const n = leb();
      for (let k = 0; k < n; k++) { const l = leb(); bodies.push(l + 1); i += l; }
    } else if (id === 0) {
      const nl = leb();
      const name = Buffer.from(b.subarray(i, i + nl)).toString();
      i += nl;
      if (name === "name") {
        while (i < end) {
          const sub = b[i++];
          const ssize = leb();
          const send = i + ssize;
          if (sub === 1) {
            const n = leb();
            for (let k = 0; k < n; k++) { const idx = leb(); const l = leb(); names.set(idx, demangle(Buffer.from(b.subarray(i, i + l)).toString())); i += l; }
          }
          i = send;
        }
      }
    }
    i = end;
  }
  const list = bodies.map((bytes, k) => ({ name: names.get(k + importedFuncs) ?? `func[${k + importedFuncs}]`, bytes }));
  list.sort((a, c) => c.bytes - a.bytes);
  const groups = new Map();
  for (const f of list) groups.set(groupOf(f.name), (groups.get(groupOf(f.name)) ?? 0) + f.bytes);
  return {
    functions: list, codeBytes: bodies.reduce((a, c) => a + c, 0), total: b.length,
    groups: [...groups].sort((a, c) => c[1] - a[1]).map(([group, bytes]) => ({ group, bytes })),
  };
}

/** A legacy-mangled Rust symbol (`_ZN9oncefetch5store…E`) as a path, e.g. `oncefetch::store::Store<B>::read::h…`. */
function demangle(name) {
  const m = /^_ZN(.*)E$/.exec(name);
  if (!m) return name;
  const parts = [];
  for (let r = m[1]; r.length; ) {
    const n = /^(\d+)/.exec(r);
    if (!n) return name;
    const len = Number(n[1]);
    parts.push(r.slice(n[1].length, n[1].length + len));
    r = r.slice(n[1].length + len);
  }
  const subs = { LT: "<", GT: ">", RF: "&", BP: "*", C: ",", SP: "@", u20: " ", u27: "'", u5b: "[", u5d: "]", u7b: "{", u7d: "}", u3b: ";", u2b: "+", u22: '"' };
  return parts.map((p) => p.replace(/\$([A-Za-z0-9]+)\$/g, (x, k) => subs[k] ?? x).replace(/\.\./g, "::")).join("::");
}

/** Which part of the code a wasm function belongs to, from its (demangled) name. */
function groupOf(name) {
  if (/^(engine_new|identify|begin|outcome|finish|admin|events|policy_new|policy_free|regs|reserve)$/.test(name) || /oncefetch::abi/.test(name)) return "exports (src/abi.rs, with the Rust bodies inlined into them)";
  if (/__wbindgen|__wbg|^__externref|wasm_bindgen/.test(name)) return "wasm-bindgen runtime";
  if (/panick|panic_fmt|rust_panic|begin_panic/.test(name)) return "panic machinery";
  if (/core::fmt|core\[[0-9a-f]+\]::fmt/.test(name)) return "core::fmt (formatting)";
  if (/talc|dlmalloc|__rdl_|__rust_(alloc|dealloc|realloc)|alloc::alloc/.test(name)) return "allocator";
  if (/oncefetch_sha256/.test(name)) return "oncefetch_sha256 (SHA-256)";
  const m = name.match(/oncefetch::(\w+)/);
  if (m) return `oncefetch::${m[1]}`;
  if (/^<?alloc(\[[0-9a-f]+\])?::/.test(name)) return "alloc (Vec, String, …)";
  if (/^_R.*5alloc/.test(name)) return "alloc (Vec, String, …)";
  if (/^_R.*4core/.test(name)) return "core (other)";
  if (/^<?core(\[[0-9a-f]+\])?::/.test(name)) return "core (other)";
  if (/^<?(js_sys|web_sys)/.test(name)) return "js-sys";
  return "other";
}
