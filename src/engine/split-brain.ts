/**
 * Heals a split brain: after a network split healed, finds the other cluster of the same name and
 * merges the smaller one into the larger (decisions in src/core/split-brain.ts).
 *
 * Control messages (cluster name already checked by the transport's handshake):
 * - `split-probe { view }`: a master to an address it knows that is not in its list. A member
 *   answers with `split-view` (its cluster's view); a master that sees another cluster in the
 *   probe also probes that cluster's master (rate-limited), so it decides on a fresh answer.
 * - `split-view { view }`: the answer. A master that finds another cluster either merges into it
 *   (`mergesInto`) or probes its master, which will then merge into ours.
 * - `split-merge { master }`: a merging master to each of its members: join `master` now.
 *
 * What a merging member does with its data is the member's business (node.ts `mergeInto`).
 */
import { Address } from '../core/address.js';
import type { MemberInfo, MemberList } from '../core/membership.js';
import type { Runtime, TimerHandle } from '../core/runtime.js';
import { ProbeTargets, isForeign, mergesInto, viewOf, type ClusterView } from '../core/split-brain.js';
import type { Logger } from '../spi/node-engine.js';
import type { ClusterService } from './cluster-service.js';
import { MalformedMessageError, arr, int, isRecord, str } from './guards.js';

export const SPLIT_BRAIN_TYPES: ReadonlySet<string> = new Set(['split-probe', 'split-view', 'split-merge']);

export interface SplitBrainDeps {
  readonly runtime: Runtime;
  readonly logger: Logger;
  readonly cluster: ClusterService;
  /** How often a master probes for another cluster; 0 turns merging off. */
  readonly intervalMs: number;
  readonly localUuid: string;
  localAddress(): Address;
  /** The configured join addresses. */
  seeds(): readonly string[];
  send(to: Address, message: Record<string, unknown>): void;
  /** Leave this cluster and join the one whose master is at `master`. */
  merge(master: Address, reason: string): void;
}

export class SplitBrainService {
  private readonly targets = new ProbeTargets();
  private timer: TimerHandle | null = null;
  /** Merges this member started (as master or told by its master). */
  merges = 0;

  constructor(private readonly deps: SplitBrainDeps) {}

  start(): void {
    if (this.deps.intervalMs <= 0 || this.timer !== null) return;
    this.timer = this.deps.runtime.timers.every(this.deps.intervalMs, () => this.tick());
  }

  stop(): void {
    if (this.timer !== null) this.deps.runtime.timers.clear(this.timer);
    this.timer = null;
  }

  onMembersChanged(_list: MemberList, _added: readonly MemberInfo[], removed: readonly MemberInfo[]): void {
    if (removed.length > 0) this.targets.noteRemoved(removed.map((m) => m.address), this.deps.runtime.clock.now());
  }

  private now(): number {
    return this.deps.runtime.clock.now();
  }

  private localView(): ClusterView | null {
    return this.deps.cluster.core.state === 'member' ? viewOf(this.deps.cluster.core.list) : null;
  }

  private tick(): void {
    if (!this.deps.cluster.isMaster()) return;
    const view = this.localView();
    if (view === null) return;
    const members = new Set(this.deps.cluster.core.list.members.map((m) => m.address));
    const self = this.deps.localAddress().key;
    for (const address of this.targets.due(this.deps.seeds(), members, self, this.now(), this.deps.intervalMs)) {
      this.probe(address, view);
    }
  }

  private probe(address: string, view: ClusterView): void {
    let to: Address;
    try {
      to = Address.parse(address);
    } catch {
      return;
    }
    this.deps.send(to, { type: 'split-probe', view: viewToWire(view) });
  }

  handle(from: Address, message: Record<string, unknown>): void {
    const type = str(message, 'type', 64);
    switch (type) {
      case 'split-probe':
        return this.onProbe(from, viewFromWire(message.view));
      case 'split-view':
        return this.onView(viewFromWire(message.view));
      case 'split-merge':
        return this.onMergeOrder(from, str(message, 'master', 300));
      default:
        throw new MalformedMessageError(`unknown split-brain message type '${type}'`);
    }
  }

  private onProbe(from: Address, remote: ClusterView): void {
    const local = this.localView();
    if (local === null) return;
    this.deps.send(from, { type: 'split-view', view: viewToWire(local) });
    // The probe may have waited out the split in a queue: ask its master for a fresh view.
    if (this.deps.cluster.isMaster() && isForeign(local, this.deps.localUuid, remote) && this.targets.mayProbe(remote.masterAddress, this.now(), this.deps.intervalMs)) {
      this.probe(remote.masterAddress, local);
    }
  }

  private onView(remote: ClusterView): void {
    const local = this.localView();
    if (local === null || !this.deps.cluster.isMaster() || !isForeign(local, this.deps.localUuid, remote)) return;
    if (!mergesInto(local, remote)) {
      // We stay: make sure their master hears of us (it merges into us on its fresh answer).
      if (this.targets.mayProbe(remote.masterAddress, this.now(), this.deps.intervalMs)) this.probe(remote.masterAddress, local);
      return;
    }
    let master: Address;
    try {
      master = Address.parse(remote.masterAddress);
    } catch {
      return;
    }
    const reason = `split brain healed: this cluster (${local.memberUuids.length} member(s), master ${local.masterAddress}) merges into the cluster of ${remote.memberUuids.length} member(s) whose master is ${remote.masterAddress}`;
    this.deps.logger.warn({ master: remote.masterAddress, ours: local.memberUuids.length, theirs: remote.memberUuids.length }, reason);
    for (const m of this.deps.cluster.core.list.members) {
      if (m.uuid === this.deps.localUuid) continue;
      this.deps.send(Address.parse(m.address), { type: 'split-merge', master: remote.masterAddress });
    }
    this.merges++;
    this.deps.merge(master, reason);
  }

  private onMergeOrder(from: Address, masterAddress: string): void {
    const current = this.deps.cluster.getMaster();
    if (this.deps.cluster.core.state !== 'member' || current === null || !current.address.equals(from) || this.deps.cluster.isMaster()) return;
    let master: Address;
    try {
      master = Address.parse(masterAddress);
    } catch {
      return;
    }
    this.merges++;
    this.deps.merge(master, `split brain healed: master ${from.key} merges this cluster into the one whose master is ${masterAddress}`);
  }
}

function viewToWire(v: ClusterView): Record<string, unknown> {
  return { masterUuid: v.masterUuid, masterAddress: v.masterAddress, memberUuids: [...v.memberUuids], listVersion: v.listVersion };
}

function viewFromWire(v: unknown): ClusterView {
  if (!isRecord(v)) throw new MalformedMessageError('split-brain view must be an object');
  const memberUuids = arr(v, 'memberUuids', 10_000).map((u) => {
    if (typeof u !== 'string' || u.length > 64) throw new MalformedMessageError('member uuid must be a string');
    return u;
  });
  return { masterUuid: str(v, 'masterUuid', 64), masterAddress: str(v, 'masterAddress', 300), memberUuids, listVersion: int(v, 'listVersion', 0) };
}
