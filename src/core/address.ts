/** `host:port` a member listens on. Printed the way the seeds print it: `Address[127.0.0.1]:5701`. */
export class Address {
  readonly host: string;
  readonly port: number;
  /** `host:port`, the key used in maps and on the wire. */
  readonly key: string;

  constructor(host: string, port: number) {
    this.host = host;
    this.port = port;
    this.key = `${host}:${port}`;
  }

  static parse(text: string, defaultPort = 5701): Address {
    const idx = text.lastIndexOf(':');
    if (idx < 0) return new Address(text, defaultPort);
    const port = Number(text.slice(idx + 1));
    if (!Number.isInteger(port) || port <= 0 || port > 65535) {
      throw new Error(`invalid address '${text}': port must be an integer in 1..65535`);
    }
    return new Address(text.slice(0, idx), port);
  }

  equals(other: Address | null | undefined): boolean {
    return other != null && other.key === this.key;
  }

  toString(): string {
    return `Address[${this.host}]:${this.port}`;
  }
}
