import { FRAME_LENGTH_LIMIT } from './framing.js';
import { HELLO_NAME_BYTES_MAX } from './handshake.js';
import type { TransportOptions } from './transport.js';

const PORT_MAX = 65535;

/** Throws a RangeError naming the first option out of range; shared by both transports. */
export function validateTransportOptions(options: TransportOptions): void {
  const { port, portCount, frameBytesMax, peerQueueBytesMax } = options;
  if (!Number.isInteger(port) || port < 1 || port > PORT_MAX) {
    throw new RangeError(`transport port must be an integer in 1..${PORT_MAX}, got ${port}`);
  }
  if (!Number.isInteger(portCount) || portCount < 1) {
    throw new RangeError(`transport portCount must be a positive integer, got ${portCount}`);
  }
  if (!Number.isInteger(frameBytesMax) || frameBytesMax < 1 || frameBytesMax > FRAME_LENGTH_LIMIT) {
    throw new RangeError(`transport frameBytesMax must be an integer in 1..${FRAME_LENGTH_LIMIT}, got ${frameBytesMax}`);
  }
  if (!Number.isInteger(peerQueueBytesMax) || peerQueueBytesMax < 1) {
    throw new RangeError(`transport peerQueueBytesMax must be a positive integer, got ${peerQueueBytesMax}`);
  }
  for (const [label, value, allowEmpty] of [
    ['host', options.host, false],
    ['clusterName', options.clusterName, false],
    ['memberUuid', options.memberUuid, false],
    ['memberName', options.memberName, true],
  ] as const) {
    const bytes = Buffer.byteLength(value, 'utf8');
    if (bytes > HELLO_NAME_BYTES_MAX || (bytes === 0 && !allowEmpty)) {
      throw new RangeError(
        `transport ${label} must be ${allowEmpty ? 0 : 1}..${HELLO_NAME_BYTES_MAX} UTF-8 bytes, got ${bytes}`,
      );
    }
  }
}

/** The ports `start` tries, in order: just `port`, or `port..port+portCount-1` (capped at 65535). */
export function candidatePorts(options: TransportOptions): number[] {
  if (!options.portAutoIncrement) return [options.port];
  const last = Math.min(options.port + options.portCount - 1, PORT_MAX);
  const ports: number[] = [];
  for (let p = options.port; p <= last; p++) ports.push(p);
  return ports;
}

/** The error `start` rejects with when every candidate port was taken. */
export function noFreePortError(options: TransportOptions, ports: readonly number[]): Error {
  const range = ports.length === 1 ? `${ports[0]}` : `${ports[0]}..${ports[ports.length - 1]}`;
  const err = new Error(`no free port on ${options.host} in ${range} (address in use)`) as Error & { code: string };
  err.code = 'EADDRINUSE';
  return err;
}
