/**
 * One member: wires transport, membership, partition table, operation service, proxies and the
 * user's services, and runs their lifecycle.
 */
import { Address } from '../core/address.js';
import type { MemberInfo, MemberList, MembershipMessage } from '../core/membership.js';
import type { Runtime } from '../core/runtime.js';
import { CONFIG_LIMITS } from '../config/limits.js';
import type { ResolvedConfig } from '../config/types.js';
import { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import { partitionIdOf } from '../serialization/partition-key.js';
import { SerializationService } from '../serialization/serialization-service.js';
import { globalTypeRegistry } from '../serialization/type-registry.js';
import type { Cluster, Member, PartitionService } from '../spi/cluster.js';
import { ServiceNotFoundError } from '../spi/errors.js';
import type { Logger, NodeEngine, OperationService, ProxyService } from '../spi/node-engine.js';
import { isManagedService, isMigrationAwareService, type MigrationAwareService } from '../spi/services.js';
import type { Transport, TransportHandler, Hello } from '../transport/transport.js';
import { BusyPoll } from './busy-poll.js';
import { ClusterService } from './cluster-service.js';
import { NO_FAULTS, type FaultSites } from './fault-sites.js';
import { MalformedMessageError, arr, int, isMembershipType, isRecord, parseMembershipMessage, str } from './guards.js';
import { INTERNAL_SERVICE } from './internal-operation.js';
import { MulticastDiscovery } from './multicast.js';
import { NamedPartitionService } from './named-partitions.js';
import { OperationServiceImpl } from './operation-service.js';
import { PartitionServiceImpl, type WireTable } from './partition-service.js';
import { ProxyServiceImpl } from './proxy-service.js';
import { SPLIT_BRAIN_TYPES, SplitBrainService } from './split-brain.js';
import { FrameKind } from './wire.js';
import './migration-ops.js';

export type NodeState = 'created' | 'starting' | 'active' | 'shutting-down' | 'stopped';

export interface NodeOptions {
  readonly config: ResolvedConfig;
  readonly runtime: Runtime;
  readonly logger: Logger;
  /** Builds the transport once the member's identity is known. */
  readonly createTransport: (identity: { uuid: string; name: string }) => Transport;
  /** Service instances by name, in config order (the built-in map is added unless given). */
  readonly services: ReadonlyMap<string, object>;
  readonly faults?: FaultSites;
  /** Use multicast discovery (real network only; the simulator passes false). */
  readonly multicast?: boolean;
}

export class Node {
  readonly config: ResolvedConfig;
  readonly runtime: Runtime;
  logger: Logger;
  readonly uuid: string;
  readonly transport: Transport;
  readonly serialization: SerializationService;
  readonly nodeEngine: NodeEngineImpl;
  readonly services: Map<string, object>;
  readonly faults: FaultSites;
  cluster!: ClusterService;
  named!: NamedPartitionService;
  partitions!: PartitionServiceImpl;
  operations!: OperationServiceImpl;
  proxies!: ProxyServiceImpl;
  splitBrain!: SplitBrainService;
  private stateValue: NodeState = 'created';
  private addressValue: Address | null = null;
  private memberName: string;
  private multicast: MulticastDiscovery | null = null;
  private readonly controlOut = new ObjectDataOutput(1024);
  private readonly controlIn = new ObjectDataInput(Buffer.alloc(0));
  private readonly multicastEnabled: boolean;
  /** Merging into another cluster (split brain healed) until that cluster's list arrives. */
  private merging = false;

  constructor(options: NodeOptions) {
    this.config = options.config;
    this.runtime = options.runtime;
    this.logger = options.logger;
    this.uuid = options.runtime.random.uuid();
    this.memberName = options.config.memberName ?? '';
    this.transport = options.createTransport({ uuid: this.uuid, name: this.memberName });
    this.serialization = new SerializationService(globalTypeRegistry);
    this.services = new Map(options.services);
    this.faults = options.faults ?? NO_FAULTS;
    this.nodeEngine = new NodeEngineImpl(this);
    this.multicastEnabled = (options.multicast ?? true) && options.config.network.join.multicast.enabled;
  }

  get state(): NodeState {
    return this.stateValue;
  }

  get address(): Address {
    if (this.addressValue === null) throw new Error('member has not bound its address yet');
    return this.addressValue;
  }

  get name(): string {
    return this.memberName;
  }

  isRunning(): boolean {
    return this.stateValue === 'active' || this.stateValue === 'shutting-down';
  }

  async start(): Promise<void> {
    this.stateValue = 'starting';
    const cfg = this.config;
    this.addressValue = await this.transport.start(this.handler());
    if (this.memberName === '') this.memberName = `member-${this.addressValue.port}`;
    this.logger = this.logger.child({ member: this.memberName });
    this.logger.info({ address: this.addressValue.key, uuid: this.uuid }, `member ${this.memberName} listening on ${this.addressValue.toString()}`);
    const local: MemberInfo = { uuid: this.uuid, address: this.addressValue.key, name: this.memberName, lite: cfg.liteMember };
    this.operations = new OperationServiceImpl({
      runtime: this.runtime,
      logger: this.logger.child({ component: 'operations' }),
      settings: cfg.invocation,
      registry: this.serialization.registry,
      transport: this.transport,
      nodeEngine: this.nodeEngine,
      // Hashed partitions, then the named-partition slots.
      partitionCount: cfg.partitionCount + cfg.namedPartitionsMax,
      faults: this.faults,
      localAddress: () => this.address,
      replicaAddress: (p, r) => this.partitions.replicaAddress(p, r),
      acceptsOperations: (p) => this.partitions.acceptsOperations(p),
      triggerAssignment: () => this.partitions.triggerAssignment(),
      partitionVersion: (p) => this.partitions.table.version(p),
      isRunning: () => this.isRunning(),
      answerWait: cfg.invocation.busyPollUs > 0 ? new BusyPoll(cfg.invocation.busyPollUs, () => this.operations.pendingCount()) : null,
    });
    this.cluster = new ClusterService({
      runtime: this.runtime,
      logger: this.logger.child({ component: 'cluster' }),
      local,
      heartbeatIntervalMs: cfg.failureDetector.heartbeatIntervalMs,
      maxNoHeartbeatMs: cfg.failureDetector.maxNoHeartbeatMs,
      joinTimeoutMs: cfg.network.join.joinTimeoutMs,
      sendControl: (to, message) => this.sendControl(to, message),
      onMembersChanged: (list, added, removed) => this.onMembersChanged(list, added, removed),
      onRemovedFromCluster: () => this.resetForRejoin(),
    });
    this.partitions = new PartitionServiceImpl(
      {
        runtime: this.runtime,
        logger: this.logger.child({ component: 'partitions' }),
        partitionCount: cfg.partitionCount + cfg.namedPartitionsMax,
        hashedCount: cfg.partitionCount,
        settings: {
          migrationsConcurrentMax: cfg.migration.concurrentMax,
          chunkBytesMax: cfg.migration.chunkBytesMax,
          migrationTimeoutMs: Math.max(cfg.invocation.callTimeoutMs, 10_000),
          antiEntropyIntervalMs: cfg.backup.antiEntropyIntervalMs,
          gracefulShutdownTimeoutMs: cfg.migration.gracefulShutdownTimeoutMs,
        },
        cluster: this.cluster,
        operations: this.operations,
        registry: this.serialization.registry,
        nodeEngine: this.nodeEngine,
        faults: this.faults,
        migrationAwareServices: () => this.migrationAwareServices(),
        partitionIdOf: (key) => partitionIdOf(key, cfg.partitionCount),
        sendTable: (to, table) => this.sendControl(to, { type: 'partition-table', table }),
        sendReplicaVersions: (to, partitions, versions) => this.sendControl(to, { type: 'replica-versions', partitions, versions }),
        isRunning: () => this.isRunning(),
      },
      this.uuid,
    );
    this.operations.onDirtyReplica = (p) => this.partitions.onDirtyReplica(p);
    this.named = new NamedPartitionService({
      runtime: this.runtime,
      logger: this.logger.child({ component: 'named-partitions' }),
      hashedCount: cfg.partitionCount,
      slotCount: cfg.namedPartitionsMax,
      nodeActiveTimeoutMs: cfg.nodeActiveTimeoutSeconds * 1000,
      callTimeoutMs: cfg.invocation.callTimeoutMs,
      republishIntervalMs: cfg.backup.antiEntropyIntervalMs,
      localUuid: this.uuid,
      localName: () => this.memberName,
      localAddress: () => this.address,
      cluster: this.cluster,
      partitions: this.partitions,
      operations: this.operations,
    });
    this.partitions.named = this.named;
    this.operations.named = this.named;
    this.splitBrain = new SplitBrainService({
      runtime: this.runtime,
      logger: this.logger.child({ component: 'split-brain' }),
      cluster: this.cluster,
      intervalMs: cfg.network.join.mergeIntervalMs,
      localUuid: this.uuid,
      localAddress: () => this.address,
      seeds: () => this.seedAddresses(),
      send: (to, message) => this.sendControl(to, message),
      merge: (master, reason) => this.mergeInto(master, reason),
    });
    this.proxies = new ProxyServiceImpl({
      logger: this.logger.child({ component: 'proxies' }),
      operations: this.operations,
      service: (name) => this.services.get(name),
      otherMembers: () => this.cluster.getMembers().filter((m) => !m.localMember).map((m) => m.address),
    });

    for (const [name, service] of this.services) {
      if (isManagedService(service)) {
        const props = cfg.services.find((s) => s.name === name)?.properties ?? {};
        await service.init(this.nodeEngine, Object.freeze({ ...props }));
      }
    }
    this.stateValue = 'active';
    this.operations.start();
    this.partitions.start();
    this.named.start();
    this.splitBrain.start();
    const seeds = this.seedAddresses();
    if (this.multicastEnabled) {
      const m = cfg.network.join.multicast;
      this.multicast = new MulticastDiscovery(
        { group: m.group, port: m.port, interface: m.interface, ttl: m.ttl, clusterName: cfg.clusterName, address: this.address.key, intervalMs: 500 },
        this.logger,
        (address) => this.cluster.addSeed(address),
      );
      await this.multicast.start();
    }
    await this.cluster.join(seeds, this.multicastEnabled);
  }

  /** Join seeds: the configured TCP/IP members, else the first ports of our own host. */
  private seedAddresses(): string[] {
    const net = this.config.network;
    if (net.join.tcpIp.enabled && net.join.tcpIp.members.length > 0) {
      return net.join.tcpIp.members.map((m) => Address.parse(m, net.port).key);
    }
    if (!net.join.tcpIp.enabled) return [];
    // Several members on one host with default config find each other on consecutive ports.
    const count = Math.min(net.portCount, 10);
    return Array.from({ length: count }, (_, i) => `${net.host}:${net.port + i}`).filter((a) => a !== this.address.key);
  }

  private handler(): TransportHandler {
    return {
      acceptPeer: (_hello: Hello) => (this.stateValue === 'stopped' ? 'member is stopped' : null),
      onFrame: (from, bytes, start, end) => this.onFrame(from, bytes, start, end),
      onPeerUnreachable: (peer, reason) => {
        this.logger.debug({ peer: peer.key, reason }, 'peer unreachable');
        if (this.stateValue === 'stopped' || this.cluster === undefined) return;
        this.cluster.peerUnreachable(peer, reason);
        this.operations.onTargetGone(peer);
      },
    };
  }

  /**
   * One frame from a peer. A frame we cannot parse throws: the transport then closes that
   * connection (logging why) and the member serves on.
   */
  private onFrame(from: Address, bytes: Buffer, start: number, end: number): void {
    if (this.stateValue !== 'active' && this.stateValue !== 'shutting-down' && this.stateValue !== 'starting') return;
    if (end <= start) throw new MalformedMessageError('empty frame');
    const kind = bytes[start] as FrameKind;
    if (kind === FrameKind.CONTROL) {
      this.controlIn.reset(bytes, start + 1, end);
      const message = this.controlIn.readObject();
      this.handleControl(from, message);
      return;
    }
    if (this.operations === undefined) return;
    if (kind < FrameKind.OPERATION || kind > FrameKind.BACKUP_ACK) throw new MalformedMessageError(`unknown frame kind ${kind as number}`);
    this.operations.handleFrame(from, kind, bytes, start, end);
  }

  private handleControl(from: Address, message: unknown): void {
    if (!isRecord(message)) throw new MalformedMessageError('control message is not an object');
    const type = str(message, 'type', 64);
    if (this.cluster === undefined) return;
    if (isMembershipType(type)) {
      this.cluster.handle(from, parseMembershipMessage(message));
      return;
    }
    if (SPLIT_BRAIN_TYPES.has(type)) {
      this.splitBrain.handle(from, message);
      return;
    }
    switch (type) {
      case 'partition-table': {
        const t = message.table;
        if (!isRecord(t)) throw new MalformedMessageError('table must be an object');
        const table: WireTable = {
          tableVersion: int(t, 'tableVersion', 0),
          partitionCount: int(t, 'partitionCount', 1, CONFIG_LIMITS.partitionCountMax + CONFIG_LIMITS.namedPartitionsMaxMax),
          members: arr(t, 'members', 10_000).map((m) => (typeof m === 'string' ? m : '')),
          slots: arr(t, 'slots').map((v) => (typeof v === 'number' ? v : -1)),
          versions: arr(t, 'versions').map((v) => (typeof v === 'number' ? v : 0)),
          masterUuid: str(t, 'masterUuid', 64),
        };
        this.partitions.handleTable(from, table);
        return;
      }
      case 'replica-versions': {
        const partitions = arr(message, 'partitions').map(Number);
        const versions = arr(message, 'versions').map(Number);
        this.partitions.handleReplicaVersions(from, partitions, versions);
        return;
      }
      default:
        throw new MalformedMessageError(`unknown control message type '${type}'`);
    }
  }

  private sendControl(to: Address, message: MembershipMessage | Record<string, unknown>): void {
    const out = this.controlOut;
    out.clear();
    out.writeByte(FrameKind.CONTROL);
    out.writeObject(message);
    this.transport.send(to, out.backing, out.position());
  }

  private onMembersChanged(list: MemberList, added: readonly MemberInfo[], removed: readonly MemberInfo[]): void {
    if (this.merging) {
      // Joined the cluster it merged into: the configured seeds again, for any later rejoin.
      this.merging = false;
      for (const seed of this.seedAddresses()) this.cluster.addSeed(seed);
    }
    this.splitBrain.onMembersChanged(list, added, removed);
    this.named.onMembersChanged(list, added, removed);
    this.partitions.onMembersChanged(list, added, removed);
    for (const m of removed) this.transport.disconnect(Address.parse(m.address));
    for (const m of added) if (m.uuid !== this.uuid) this.proxies.syncTo(Address.parse(m.address));
  }

  /** We were dropped from the cluster: our data can no longer be trusted. Services reset; rejoin. */
  private resetForRejoin(): void {
    this.partitions.resetAll();
    this.named.reset();
    for (const service of this.services.values()) {
      if (isManagedService(service)) {
        try {
          service.reset();
        } catch (error) {
          this.logger.error({ err: error }, 'service reset threw');
        }
      }
    }
  }

  /**
   * Split-brain merge: leave this cluster (no goodbye) and join the one whose master is at
   * `master`. Hashed partitions' data is dropped (the other cluster's copy stands); the copies of
   * named partitions this member holds are kept aside, unserved, until the application enables
   * those partitions again, with the EnableAction that says what becomes of them (restore).
   */
  private mergeInto(master: Address, reason: string): void {
    this.logger.warn({ master: master.key }, `${reason}; leaving this cluster to join it`);
    const kept = this.named.retainForMerge();
    this.partitions.resetAll();
    const total = this.config.partitionCount + this.config.namedPartitionsMax;
    for (const [name, service] of this.services) {
      try {
        if (isMigrationAwareService(service)) {
          for (let p = 0; p < total; p++) if (!kept.has(p)) service.clearPartitionReplica(p);
        } else if (isManagedService(service)) {
          service.reset();
        }
      } catch (error) {
        this.logger.error({ err: error, service: name }, 'resetting a service for a merge threw');
      }
    }
    this.merging = true;
    this.cluster.mergeInto(master);
  }

  migrationAwareServices(): [string, MigrationAwareService][] {
    const out: [string, MigrationAwareService][] = [];
    for (const [name, s] of this.services) if (isMigrationAwareService(s)) out.push([name, s]);
    return out;
  }

  /** Graceful: move partitions away (bounded), leave, shut services down, close the transport. */
  async shutdown(): Promise<void> {
    if (this.stateValue !== 'active') return;
    this.stateValue = 'shutting-down';
    this.logger.info('shutting down: moving partitions away');
    const drained = await this.partitions.drainForShutdown();
    if (!drained) this.logger.warn('leaving with partitions still on this member (the drain timed out, or no member could take them)');
    this.cluster.leave();
    await this.stopEverything(false);
  }

  /** Abrupt, as a crash would be: no migration, no leave message. */
  async terminate(): Promise<void> {
    if (this.stateValue === 'stopped') return;
    await this.stopEverything(true);
  }

  private async stopEverything(terminate: boolean): Promise<void> {
    this.stateValue = 'stopped';
    this.multicast?.stop();
    this.cluster?.stop();
    this.partitions?.stop();
    this.named?.stop();
    this.splitBrain?.stop();
    this.operations?.stop(terminate ? 'instance terminated' : 'instance shut down');
    await this.transport.close();
    for (const [name, service] of this.services) {
      if (isManagedService(service)) {
        try {
          await service.shutdown(terminate);
        } catch (error) {
          this.logger.error({ err: error, service: name }, 'service shutdown threw');
        }
      }
    }
    this.logger.info(terminate ? 'terminated' : 'shut down');
  }
}

export class NodeEngineImpl implements NodeEngine {
  constructor(readonly node: Node) {}

  getThisAddress(): Address {
    return this.node.address;
  }
  getLocalMember(): Member {
    return this.node.cluster.getLocalMember();
  }
  getClusterService(): Cluster {
    return this.node.cluster;
  }
  getPartitionService(): PartitionService {
    return this.node.partitions ?? this.partitionsBeforeStart();
  }
  getOperationService(): OperationService {
    return this.node.operations;
  }
  getProxyService(): ProxyService {
    return this.node.proxies;
  }
  getSerializationService(): SerializationService {
    return this.node.serialization;
  }
  getService<S = unknown>(serviceName: string): S {
    const service = this.node.services.get(serviceName);
    if (service === undefined) {
      if (serviceName === INTERNAL_SERVICE) return undefined as S;
      throw new ServiceNotFoundError(`no service named '${serviceName}' on member ${this.node.address.toString()}`);
    }
    return service as S;
  }
  getLogger(name: string): Logger {
    return this.node.logger.child({ component: name });
  }
  isRunning(): boolean {
    return this.node.isRunning();
  }
  private partitionsBeforeStart(): PartitionService {
    throw new Error('the partition service is available once the member has started');
  }
}
