/**
 * HPACK's Huffman code (RFC 7541 Appendix B), decoded four bits at a time, for the answers APNs
 * sends; edgepush never Huffman-codes what it sends.
 *
 * @module
 */
import huffman from "hpack.js/lib/hpack/huffman.js";
import { octetsToString } from "./octets.ts";

/**
 * Huffman decoding four bits at a time. The code's tree (built from hpack.js's copy of RFC 7541
 * Appendix B) has ~256 inner nodes; for each node and each nibble, NIBBLE_NEXT holds the node
 * reached and NIBBLE_SYMBOL the symbol completed on the way (-1 none, -2 an invalid path or EOS).
 * No code is shorter than 5 bits, so a nibble completes one symbol at most. PADDING_OK marks the
 * nodes a string may end on: the root, or 1 to 7 one-bits deep (a prefix of EOS).
 */
const { NIBBLE_NEXT, NIBBLE_SYMBOL, PADDING_OK } = (() => {
  const tree = new Int32Array(2 * 600).fill(0);
  let nodes = 1;
  (huffman.encode as Array<[number, number]>).forEach(([bits, code], symbol) => {
    let node = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const slot = 2 * node + (Math.floor(code / 2 ** i) & 1);
      if (i === 0) tree[slot] = -(symbol + 1);
      else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot];
      }
    }
  });
  const next = new Int16Array(nodes * 16);
  const symbol = new Int16Array(nodes * 16).fill(-1);
  for (let state = 0; state < nodes; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      for (let b = 3; b >= 0; b--) {
        const child = tree[2 * node + ((nibble >> b) & 1)];
        if (child < 0) {
          const sym = -child - 1;
          symbol[state * 16 + nibble] = sym === 256 ? -2 : sym;
          node = 0;
        } else if (child === 0) {
          symbol[state * 16 + nibble] = -2;
          break;
        } else node = child;
      }
      next[state * 16 + nibble] = node;
    }
  }
  const padding = new Uint8Array(nodes);
  padding[0] = 1;
  for (let node = 0, depth = 1; depth <= 7; depth++) {
    node = tree[2 * node + 1];
    if (node <= 0) break;
    padding[node] = 1;
  }
  return { NIBBLE_NEXT: next, NIBBLE_SYMBOL: symbol, PADDING_OK: padding };
})();

let scratch = new Uint8Array(256);

/**
 * Decodes the Huffman-coded string in `bytes[start, end)` (latin1: a header's octets); null when
 * the input holds an invalid code, EOS, or padding that is not a prefix of EOS.
 */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string | null {
  // Four symbols at most per three bytes: the shortest code is five bits. One buffer serves every
  // call (decoding is synchronous), grown when a longer string comes.
  const most = Math.ceil(((end - start) * 8) / 5);
  if (most > scratch.length) scratch = new Uint8Array(Math.max(most, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    let at = state * 16 + (byte >> 4);
    let sym = NIBBLE_SYMBOL[at];
    if (sym === -2) return null;
    if (sym >= 0) out[n++] = sym;
    state = NIBBLE_NEXT[at];
    at = state * 16 + (byte & 15);
    sym = NIBBLE_SYMBOL[at];
    if (sym === -2) return null;
    if (sym >= 0) out[n++] = sym;
    state = NIBBLE_NEXT[at];
  }
  if (!PADDING_OK[state]) return null;
  return octetsToString(out, 0, n);
}
