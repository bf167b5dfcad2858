// IEEE 754 half precision (TFLite's FLOAT16) to float32. Every half is exactly a float32, so the
// decoded model computes with the very weights the converter stored.

/** One half-precision value from its 16 bits: sign, 5-bit exponent (bias 15), 10-bit fraction. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Little-endian half-precision bytes, as a .tflite buffer stores them, to float32 values. */
export function decodeFloat16(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = halfToFloat(bytes[2 * i] | (bytes[2 * i + 1] << 8));
  return out;
}
