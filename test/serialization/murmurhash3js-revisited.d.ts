// The test oracle ships no types; only the part the tests use is declared.
declare module 'murmurhash3js-revisited' {
  interface MurmurHash3 {
    x86: {
      /** Unsigned 32-bit hash of a byte array. */
      hash32(bytes: ArrayLike<number>, seed?: number): number;
    };
  }
  const murmurHash3: MurmurHash3;
  export = murmurHash3;
}
