// binaryen, the WebAssembly library the compiler emits kernels with, ships as one 15 MB JavaScript
// file: about 180 KB of emscripten glue around its 10 MB wasm binary, written as one template literal.
// Loading it means parsing that literal and decoding it char by char (about 0.5 s per thread, every
// build that emits a cell). The CLI bundle (compile.js) instead gets the same library split in two:
// `binaryen.js`, the glue with the literal replaced by the bytes of `binaryen.wasm` read beside it.
// The bytes are exactly what binaryen's own decoder produces (test/build/binaryen-split.test.ts).
// Anything unexpected in the file (another binaryen release) makes splitBinaryen return undefined,
// and the bundle then includes binaryen as it is.

import { readFileSync } from 'node:fs';

const MARKER = 'bA??=x6(`';
const SINGLE = { 0: 0, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '`': 96, $: 36, "'": 39, '"': 34 };

/**
 * Decodes the template literal that starts at `start` of `s` as binaryen's x6() would decode its value
 * (each UTF-16 unit < 256 is one byte). Returns the bytes and the index of the closing backtick.
 */
export function decodeLiteral(s, start) {
  const out = new Uint8Array(s.length - start);
  let n = 0;
  let j = start;
  for (;; j++) {
    if (j >= s.length) throw new Error('unterminated literal');
    let c = s.charCodeAt(j);
    if (c === 96) break;
    if (c === 36 && s.charCodeAt(j + 1) === 123) throw new Error('substitution in literal');
    if (c === 92) {
      const e = s[++j];
      if (e === 'x') {
        const hex = s.slice(j + 1, j + 3);
        if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`bad \\x escape at ${j}`);
        c = parseInt(hex, 16);
        j += 2;
      } else if (e === '\n') {
        continue;
      } else if (Object.hasOwn(SINGLE, e) && !(e === '0' && /[0-9]/.test(s[j + 1] ?? ''))) {
        c = SINGLE[e];
      } else {
        throw new Error(`unsupported escape \\${e} at ${j}`);
      }
    } else if (c === 13) {
      // A template literal reads CR and CRLF as LF.
      if (s.charCodeAt(j + 1) === 10) j++;
      c = 10;
    }
    if (c > 255) throw new Error(`character ${c} > 255 at ${j}`);
    out[n++] = c;
  }
  return { bytes: out.slice(0, n), end: j };
}

/** The glue and the wasm bytes of binaryen's index.js at `path`, or undefined where its layout is not the expected one. */
export function splitBinaryen(path) {
  try {
    const s = readFileSync(path, 'utf8');
    const at = s.indexOf(MARKER);
    if (at < 0 || s.indexOf(MARKER, at + 1) >= 0) return undefined;
    const { bytes, end } = decodeLiteral(s, at + MARKER.length);
    if (s.slice(end, end + 2) !== '`)' || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return undefined;
    const head = "import { readFileSync as __cellgenReadFile } from 'node:fs';\n" + "const __cellgenWasm = new Uint8Array(__cellgenReadFile(new URL('./binaryen.wasm', import.meta.url)));\n";
    const js = head + s.slice(0, at) + 'bA??=__cellgenWasm' + s.slice(end + 2);
    return { js, wasm: bytes };
  } catch {
    return undefined;
  }
}
