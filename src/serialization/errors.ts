/**
 * The one error type the serialization layer throws for bad values and bad bytes, so callers
 * (the transport decoding a frame, an operation reading its fields) can tell "this input is
 * malformed" apart from a bug in their own code with a single `instanceof` check.
 */
export class SerializationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SerializationError';
  }
}
