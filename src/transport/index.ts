export type {
  Hello,
  Transport,
  TransportHandler,
  TransportLogger,
  TransportOptions,
  TransportStats,
} from './transport.js';
export { PROTOCOL_VERSION } from './transport.js';
export {
  ARENA_BYTES_INITIAL,
  FRAME_HEADER_BYTES,
  FrameArena,
  FrameDecoder,
  checkFrameLength,
  encodeFrame,
} from './framing.js';
export {
  HELLO_BYTES_MAX,
  HELLO_MAGIC,
  HELLO_NAME_BYTES_MAX,
  decodeHello,
  encodeHello,
  type HelloDecodeResult,
} from './handshake.js';
export { InboundSession, type InboundContext } from './inbound.js';
export { candidatePorts, validateTransportOptions } from './options.js';
export { TCP_TUNING_DEFAULTS, TcpTransport, type TcpTransportTuning } from './tcp.js';
export {
  MemoryNetwork,
  MemoryTransport,
  deliverAll,
  type DeliverDecision,
  type DeliverPolicy,
} from './memory.js';
