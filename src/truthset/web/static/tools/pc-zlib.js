// @ts-check
/**
 * Per-point labels to and from the segmentation answer's "labels": base64 of a zlib
 * stream of uint8 class ids. Encoding is synchronous (the tool's answer() is), a small
 * deflate with the fixed Huffman codes and run-length matches (distance 1): painted
 * labels come in long runs, so this is most of what zlib's best would give; decoding goes
 * through the browser's DecompressionStream (any zlib stream, Python's included).
 */

const LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];

class BitWriter {
  /** @param {number} size bytes to start with */
  constructor(size) {
    this.buf = new Uint8Array(Math.max(64, size));
    this.pos = 0;
    this.bit = 0;
    this.acc = 0;
  }

  /** Bits LSB first (extra bits, header fields). @param {number} value @param {number} n */
  bits(value, n) {
    for (let i = 0; i < n; i++) this.push((value >> i) & 1);
  }

  /** A Huffman code, its most significant bit first. @param {number} code @param {number} n */
  code(code, n) {
    for (let i = n - 1; i >= 0; i--) this.push((code >> i) & 1);
  }

  /** @param {number} b */
  push(b) {
    this.acc |= b << this.bit;
    if (++this.bit === 8) this.flushByte();
  }

  flushByte() {
    if (this.pos >= this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.pos++] = this.acc;
    this.acc = 0;
    this.bit = 0;
  }

  /** @param {number} byte */
  byte(byte) {
    if (this.bit) this.flushByte();
    this.acc = byte;
    this.bit = 0;
    this.flushByte();
  }
}

/** @param {BitWriter} w @param {number} v */
function literal(w, v) {
  if (v < 144) w.code(0x30 + v, 8);
  else w.code(0x190 + v - 144, 9);
}

/** @param {BitWriter} w @param {number} sym 256..287 */
function lengthSymbol(w, sym) {
  if (sym < 280) w.code(sym - 256, 7);
  else w.code(0xc0 + sym - 280, 8);
}

/** @param {BitWriter} w @param {number} len 3..258 */
function match(w, len) {
  let i = LEN_BASE.length - 1;
  while (LEN_BASE[i] > len) i--;
  lengthSymbol(w, 257 + i);
  if (LEN_EXTRA[i]) w.bits(len - LEN_BASE[i], LEN_EXTRA[i]);
  w.code(0, 5); // distance code 0: distance 1, no extra bits
}

/** Adler-32 of the data, zlib's trailer. @param {Uint8Array} data */
function adler32(data) {
  let a = 1, b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(data.length, i + 5552);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** A zlib stream of the bytes. @param {Uint8Array} data @returns {Uint8Array} */
export function zlibCompress(data) {
  const w = new BitWriter(64 + (data.length >> 3));
  w.byte(0x78);
  w.byte(0x01);
  w.bits(1, 1); // the last block
  w.bits(1, 2); // fixed Huffman codes
  let i = 0;
  while (i < data.length) {
    const v = data[i];
    if (i > 0 && data[i - 1] === v) {
      let run = 1;
      while (run < 258 && i + run < data.length && data[i + run] === v) run++;
      if (run >= 3) {
        match(w, run);
        i += run;
        continue;
      }
    }
    literal(w, v);
    i++;
  }
  lengthSymbol(w, 256);
  if (w.bit) w.flushByte();
  const sum = adler32(data);
  for (const shift of [24, 16, 8, 0]) w.byte((sum >>> shift) & 0xff);
  return w.buf.slice(0, w.pos);
}

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** @param {string} text */
export function fromBase64(text) {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** The answer's "labels" string of per-point class ids. @param {Uint8Array} labels */
export function encodeLabels(labels) {
  return toBase64(zlibCompress(labels));
}

/**
 * Per-point class ids from an answer's "labels" (any zlib stream), checked against the
 * frame's point count.
 * @param {string} text @param {number} count @returns {Promise<Uint8Array>}
 */
export async function decodeLabels(text, count) {
  const stream = new Blob([fromBase64(text)]).stream().pipeThrough(new DecompressionStream("deflate"));
  const out = new Uint8Array(await new Response(stream).arrayBuffer());
  if (out.length !== count) throw new Error(`the saved labels are for ${out.length} points, this frame has ${count}`);
  return out;
}
