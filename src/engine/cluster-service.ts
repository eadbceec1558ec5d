/**
 * Drives the membership state machine with real (or simulated) time and the transport, and
 * presents the member list to users.
 */
import { Address } from '../core/address.js';
import { MembershipCore, type MemberInfo, type MemberList, type MembershipEffect, type MembershipMessage } from '../core/membership.js';
import type { Runtime, TimerHandle } from '../core/runtime.js';
import type { Cluster, Member, MembershipEvent, MembershipListener } from '../spi/cluster.js';
import type { Logger } from '../spi/node-engine.js';

export interface ClusterServiceDeps {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly local: MemberInfo;
  readonly heartbeatIntervalMs: number;
  readonly maxNoHeartbeatMs: number;
  readonly joinTimeoutMs: number;
  sendControl(to: Address, message: MembershipMessage): void;
  /** After the list changed and members were updated. */
  onMembersChanged(list: MemberList, added: readonly MemberInfo[], removed: readonly MemberInfo[]): void;
  onRemovedFromCluster(reason: string): void;
}

class MemberImpl implements Member {
  constructor(
    readonly uuid: string,
    readonly name: string,
    readonly address: Address,
    readonly localMember: boolean,
  ) {}
  toString(): string {
    return `Member [${this.address.host}]:${this.address.port} - ${this.name}${this.localMember ? ' this' : ''}`;
  }
}

export class ClusterService implements Cluster {
  readonly core: MembershipCore;
  private readonly deps: ClusterServiceDeps;
  private members: Member[] = [];
  private readonly byUuid = new Map<string, Member>();
  private readonly listeners = new Map<string, MembershipListener>();
  private tickTimer: TimerHandle | null = null;
  private joinWaiters: (() => void)[] = [];
  readonly localMemberObject: Member;

  constructor(deps: ClusterServiceDeps) {
    this.deps = deps;
    this.core = new MembershipCore(deps.local, {
      heartbeatIntervalMs: deps.heartbeatIntervalMs,
      maxNoHeartbeatMs: deps.maxNoHeartbeatMs,
      joinTimeoutMs: deps.joinTimeoutMs,
      membersMax: 1000,
    });
    this.localMemberObject = new MemberImpl(deps.local.uuid, deps.local.name, Address.parse(deps.local.address), true);
  }

  /** Starts joining; resolves once this member is in a cluster (possibly alone, as master). */
  join(seeds: readonly string[], discovery: boolean): Promise<void> {
    const joined = new Promise<void>((resolve) => this.joinWaiters.push(resolve));
    const tickMs = Math.max(10, Math.min(250, Math.floor(this.deps.heartbeatIntervalMs / 4)));
    this.tickTimer = this.deps.runtime.timers.every(tickMs, () => this.apply(this.core.tick(this.deps.runtime.clock.now())));
    this.apply(this.core.start(this.deps.runtime.clock.now(), seeds, discovery));
    return joined;
  }

  addSeed(address: string): void {
    this.apply(this.core.addSeed(address, this.deps.runtime.clock.now()));
  }

  leave(): void {
    this.apply(this.core.leave(this.deps.runtime.clock.now()));
    this.stop();
  }

  /** Split-brain merge: leave this cluster and join the one whose master is at `master`. */
  mergeInto(master: Address): void {
    this.apply(this.core.mergeInto(this.deps.runtime.clock.now(), master.key));
  }

  stop(): void {
    if (this.tickTimer) this.deps.runtime.timers.clear(this.tickTimer);
    this.tickTimer = null;
  }

  handle(from: Address, message: MembershipMessage): void {
    this.apply(this.core.handle(from.key, message, this.deps.runtime.clock.now()));
  }

  /** `reason` from the transport: only a refused connection counts as "nobody listening". */
  peerUnreachable(peer: Address, reason: string): void {
    this.apply(this.core.peerUnreachable(peer.key, this.deps.runtime.clock.now(), /refused/i.test(reason)));
  }

  private apply(effects: readonly MembershipEffect[]): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case 'send':
          this.deps.sendControl(Address.parse(effect.to), effect.message);
          break;
        case 'members-changed':
          this.install(effect.list, effect.added, effect.removed);
          break;
        case 'removed-from-cluster':
          this.deps.logger.warn({ reason: effect.reason }, 'this member was removed from the cluster; resetting and rejoining');
          this.deps.onRemovedFromCluster(effect.reason);
          break;
      }
    }
  }

  private install(list: MemberList, added: readonly MemberInfo[], removed: readonly MemberInfo[]): void {
    const next: Member[] = [];
    for (const info of list.members) {
      let m = this.byUuid.get(info.uuid);
      if (m === undefined) {
        m = info.uuid === this.deps.local.uuid ? this.localMemberObject : new MemberImpl(info.uuid, info.name, Address.parse(info.address), false);
        this.byUuid.set(info.uuid, m);
      }
      next.push(m);
    }
    const removedMembers = removed.map((r) => this.byUuid.get(r.uuid)).filter((m): m is Member => m !== undefined);
    for (const r of removed) this.byUuid.delete(r.uuid);
    this.members = next;
    this.deps.logger.info(`Members {size:${next.length}, ver:${list.version}} [\n${next.map((m) => `\t${m.toString()}`).join('\n')}\n]`);
    this.deps.onMembersChanged(list, added, removed);
    const waiters = this.joinWaiters;
    this.joinWaiters = [];
    for (const w of waiters) w();
    for (const m of added) {
      if (m.uuid === this.deps.local.uuid) continue;
      this.emit({ type: 'added', member: this.byUuid.get(m.uuid)!, members: next });
    }
    for (const m of removedMembers) this.emit({ type: 'removed', member: m, members: next });
  }

  private emit(event: MembershipEvent): void {
    for (const l of this.listeners.values()) {
      try {
        if (event.type === 'added') l.memberAdded?.(event);
        else l.memberRemoved?.(event);
      } catch (error) {
        this.deps.logger.error({ err: error }, 'membership listener threw');
      }
    }
  }

  // --- Cluster --------------------------------------------------------------------------------

  getMembers(): readonly Member[] {
    return this.members;
  }

  getLocalMember(): Member {
    return this.localMemberObject;
  }

  getMaster(): Member | null {
    return this.members[0] ?? null;
  }

  isMaster(): boolean {
    return this.core.isMaster();
  }

  memberByUuid(uuid: string): Member | undefined {
    return this.byUuid.get(uuid);
  }


  addMembershipListener(listener: MembershipListener): string {
    const id = this.deps.runtime.random.uuid();
    this.listeners.set(id, listener);
    return id;
  }

  removeMembershipListener(id: string): boolean {
    return this.listeners.delete(id);
  }
}
