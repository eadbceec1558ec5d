/**
 * Multicast discovery: members announce `cluster-name + address` on a multicast group and add
 * whoever they hear (same cluster) to their join seeds. Sends only on the configured interface
 * (127.0.0.1 by default) with the configured TTL (0 by default), so nothing leaves the host
 * unless configured to.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../spi/node-engine.js';

export interface MulticastOptions {
  readonly group: string;
  readonly port: number;
  readonly interface: string;
  readonly ttl: number;
  readonly clusterName: string;
  readonly address: string;
  readonly intervalMs: number;
}

const MAGIC = 'shoal-discovery/1';

export class MulticastDiscovery {
  private socket: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly options: MulticastOptions,
    private readonly logger: Logger,
    private readonly onPeer: (address: string) => void,
  ) {}

  async start(): Promise<void> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    socket.on('message', (msg) => this.receive(msg));
    socket.on('error', (err) => this.logger.warn({ err }, 'multicast discovery socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.options.port, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.setMulticastInterface(this.options.interface);
    socket.addMembership(this.options.group, this.options.interface);
    socket.setMulticastTTL(this.options.ttl);
    socket.setMulticastLoopback(true);
    this.announce();
    this.timer = setInterval(() => this.announce(), this.options.intervalMs);
    this.timer.unref();
  }

  private announce(): void {
    const payload = Buffer.from(JSON.stringify({ magic: MAGIC, cluster: this.options.clusterName, address: this.options.address }));
    this.socket?.send(payload, this.options.port, this.options.group);
  }

  private receive(msg: Buffer): void {
    if (msg.length > 1024) return;
    try {
      const parsed = JSON.parse(msg.toString('utf8')) as { magic?: unknown; cluster?: unknown; address?: unknown };
      if (parsed.magic !== MAGIC || parsed.cluster !== this.options.clusterName || typeof parsed.address !== 'string') return;
      if (parsed.address !== this.options.address) this.onPeer(parsed.address);
    } catch {
      // Not ours: multicast groups are shared, ignore anything unparseable.
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    try {
      this.socket?.close();
    } catch {
      // already closed
    }
    this.socket = null;
  }
}
