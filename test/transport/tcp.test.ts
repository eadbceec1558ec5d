import { TcpTransport } from '../../src/transport/tcp.js';
import { realRuntime } from './helpers.js';
import { transportSuite } from './transport-suite.js';

transportSuite({
  name: 'tcp',
  basePort: 15701,
  create: (options, logger) => new TcpTransport(options, realRuntime(), logger),
});
