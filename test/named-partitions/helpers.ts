/**
 * Small in-process clusters for the named-partition tests: members named A, B, C… on loopback,
 * each test file with its own port range and each cluster with its own cluster name, so files can
 * run side by side. Nothing here sleeps for a fixed time: waits are on a condition with a deadline.
 */
import { Shoal, type Config, type ShoalInstance } from '../../src/index.js';
import type { InstanceOptions } from '../../src/shoal.js';

export interface ClusterOptions {
  /** First port; members take the next ones (the tcp-ip seed list covers `size` ports). */
  readonly basePort: number;
  readonly clusterName: string;
  /** Extra config merged into every member's config. */
  readonly config?: (name: string) => Partial<Config>;
  readonly options?: (name: string) => InstanceOptions;
  /** How many ports the seed list names (default 6). */
  readonly seeds?: number;
}

export function memberConfig(name: string, o: ClusterOptions): Config {
  const seeds = Array.from({ length: o.seeds ?? 6 }, (_, i) => `127.0.0.1:${o.basePort + i}`);
  const extra = o.config?.(name) ?? {};
  return {
    clusterName: o.clusterName,
    memberName: name,
    logging: { level: 'error' },
    nodeActiveTimeoutSeconds: 10,
    // Quick enough for the failover tests, lenient enough for a loaded machine.
    failureDetector: { heartbeatIntervalMs: 250, maxNoHeartbeatMs: 4000 },
    invocation: { callTimeoutMs: 30_000 },
    ...extra,
    network: { host: '127.0.0.1', port: o.basePort, portCount: o.seeds ?? 6, join: { tcpIp: { enabled: true, members: seeds } }, ...(extra.network ?? {}) },
  };
}

export class TestCluster {
  readonly members = new Map<string, ShoalInstance>();
  constructor(readonly options: ClusterOptions) {}

  async start(...names: string[]): Promise<ShoalInstance[]> {
    const out: ShoalInstance[] = [];
    for (const name of names) {
      const instance = await Shoal.newInstance(memberConfig(name, this.options), this.options.options?.(name) ?? {});
      this.members.set(name, instance);
      out.push(instance);
    }
    await until(() => [...this.members.values()].every((m) => m.getCluster().getMembers().length === this.members.size), 30_000, 'members to see each other');
    return out;
  }

  get(name: string): ShoalInstance {
    const m = this.members.get(name);
    if (m === undefined) throw new Error(`no member ${name}`);
    return m;
  }

  async terminate(name: string): Promise<void> {
    const m = this.get(name);
    this.members.delete(name);
    await m.terminate();
  }

  async stop(): Promise<void> {
    const all = [...this.members.values()];
    this.members.clear();
    await Promise.all(all.map((m) => m.terminate()));
  }
}

/** Re-checks `check` every few milliseconds until it holds; fails after `timeoutMs`. */
export async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise<void>((resolve) => setTimeout(resolve, 10));
  }
}

/** The built-in map's store of one member, to look at what it holds. */
export interface StoreView {
  entryCount(): number;
  maps: Map<string, Map<string, { key: Buffer; value: Buffer }>>;
}

export function storeOf(instance: ShoalInstance, partitionId: number): StoreView {
  return instance.getNodeEngine().getService<{ stores: StoreView[] }>('shoal:map').stores[partitionId];
}

/** Keys (deserialized) one member holds for one map in one partition. */
export function localKeys(instance: ShoalInstance, partitionId: number, mapName: string): unknown[] {
  const ser = instance.getNodeEngine().getSerializationService();
  const m = storeOf(instance, partitionId).maps.get(mapName);
  return m === undefined ? [] : [...m.values()].map((e) => ser.toObject(e.key));
}

export function localValue(instance: ShoalInstance, partitionId: number, mapName: string, key: unknown): unknown {
  const ser = instance.getNodeEngine().getSerializationService();
  const e = storeOf(instance, partitionId).maps.get(mapName)?.get(ser.toBytes(key).toString('latin1'));
  return e === undefined ? undefined : ser.toObject(e.value);
}
