// A .BTF blob written word by word, for tests that need records no builder makes (a split
// BTF by hand, as a kernel module's): the 24-byte little-endian header, then `words` as the
// type section, then `strings` as the string section.

export function btfBlob(words: readonly number[], strings: Uint8Array): Uint8Array {
  const blob = new Uint8Array(24 + words.length * 4 + strings.length);
  const view = new DataView(blob.buffer);
  view.setUint16(0, 0xeb9f, true); // magic
  blob[2] = 1; // version; flags (byte 3) 0
  // struct btf_header: hdr_len, type_off, type_len, str_off, str_len (u32 each, from byte 4).
  [24, 0, words.length * 4, words.length * 4, strings.length].forEach((value, i) => view.setUint32(4 + i * 4, value, true));
  words.forEach((word, i) => view.setUint32(24 + i * 4, word, true));
  blob.set(strings, 24 + words.length * 4);
  return blob;
}
