// typedarray-pool (used by plotly's WebGL traces) asks node's Buffer whether an array is a Buffer
// and can allocate Buffers; in the browser nothing is one, and Uint8Array serves as the allocation.
export const Buffer = {
  isBuffer: (_x: unknown): boolean => false,
  alloc: (n: number): Uint8Array => new Uint8Array(n),
  allocUnsafe: (n: number): Uint8Array => new Uint8Array(n),
};
export default { Buffer };
