/**
 * Cluster membership as a synchronous state machine (sans-I/O).
 *
 * Inputs are `start`, `tick`, `handle(message)`, `peerUnreachable` and `leave`, each given the
 * current time; outputs are effects the engine carries out (send a message, announce a new member
 * list). No clock, timers or sockets here, so the simulator and transcript tests drive it directly.
 *
 * Rules:
 * - The oldest member (first in the list) is the master; only it admits joiners and publishes
 *   member lists, each with a higher version.
 * - Every member sends a heartbeat to every other member each `heartbeatIntervalMs`. The master
 *   removes a member it has not heard from for `maxNoHeartbeatMs`. A non-master that has not heard
 *   from the master (or from every member older than itself) for that long treats them as dead;
 *   the oldest member it still hears from takes over as master and publishes the next list.
 * - A joiner sends JoinRequest to its seed addresses. A master admits it; a member that is not
 *   master answers with the master's address; another joiner answers that it is joining too.
 *   If no master is found within `joinTimeoutMs`, the joiner with the lowest address among those
 *   that know of each other becomes master (so simultaneous starts elect one master).
 * - A member that learns it is no longer in the master's list (it was removed while stalled or
 *   cut off) is `removed`: the engine resets its services and joins again.
 */

export interface MemberInfo {
  readonly uuid: string;
  /** `host:port` */
  readonly address: string;
  readonly name: string;
  /** A lite member owns no partition replicas. */
  readonly lite: boolean;
}

export interface MemberList {
  readonly version: number;
  /**
   * Raised by every new master (founding, taking over from a silent master, or being handed the
   * cluster by a leaving one); versions count within a term. A member orders lists by (term,
   * version) and takes a same-term list only from its own master: versions alone compared lists
   * of two masters that each counted on, and a master cut off by a partition got its stale lists
   * accepted by the other side's members at the heal (found by the namespace chaos run).
   * Terms are not unique, though: two members taking over from the same list count the same next
   * term, so a member whose master is silent also takes the list of the member that succeeds it,
   * whatever its (term, version) (see `successorOfSilentMaster`).
   * Absent in lists of older peers: 0.
   */
  readonly term?: number;
  /** Oldest first; `members[0]` is the master. */
  readonly members: readonly MemberInfo[];
}

export type MembershipMessage =
  | { readonly type: 'join-request'; readonly member: MemberInfo }
  | { readonly type: 'join-joining'; readonly member: MemberInfo }
  | { readonly type: 'join-master-is'; readonly master: string }
  | { readonly type: 'member-list'; readonly list: MemberList }
  /** `listTerm` is absent in heartbeats of members that predate it: 0. */
  | { readonly type: 'heartbeat'; readonly uuid: string; readonly listVersion: number; readonly listTerm?: number }
  | { readonly type: 'list-request'; readonly uuid: string }
  | { readonly type: 'leave'; readonly uuid: string };

export type MembershipEffect =
  | { readonly kind: 'send'; readonly to: string; readonly message: MembershipMessage }
  | {
      readonly kind: 'members-changed';
      readonly list: MemberList;
      readonly added: readonly MemberInfo[];
      readonly removed: readonly MemberInfo[];
    }
  /** This member was dropped from the cluster (its data cannot be trusted); it will rejoin. */
  | { readonly kind: 'removed-from-cluster'; readonly reason: string };

export interface MembershipOptions {
  readonly heartbeatIntervalMs: number;
  readonly maxNoHeartbeatMs: number;
  readonly joinTimeoutMs: number;
  /** Most members a cluster admits (a limit on everything). */
  readonly membersMax: number;
}

export type MembershipState = 'idle' | 'joining' | 'member' | 'left';

export class MembershipCore {
  readonly local: MemberInfo;
  private readonly options: MembershipOptions;
  private stateValue: MembershipState = 'idle';
  private listValue: MemberList = { version: 0, members: [] };
  /** Last time we heard anything from each member, by uuid. */
  private readonly lastHeard = new Map<string, number>();
  private lastHeartbeatSent = -Infinity;
  private joinStartedAt = 0;
  private seeds: string[] = [];
  /** Joiners we know of while nobody is master yet, by address. */
  private readonly fellowJoiners = new Map<string, MemberInfo>();
  /** Where we believe the master is while joining (from join-master-is answers). */
  private masterHint: string | null = null;
  /** Seeds that refused a connection during this join attempt. */
  private readonly unreachableSeeds = new Set<string>();
  private discovery = false;
  /** When a member of an existing cluster last answered our join (−∞: never, this attempt). */
  private clusterSeenAt = -Infinity;

  constructor(local: MemberInfo, options: MembershipOptions) {
    this.local = local;
    this.options = options;
  }

  get state(): MembershipState {
    return this.stateValue;
  }

  get list(): MemberList {
    return this.listValue;
  }

  get master(): MemberInfo | null {
    return this.listValue.members[0] ?? null;
  }

  isMaster(): boolean {
    return this.stateValue === 'member' && this.master?.uuid === this.local.uuid;
  }

  /**
   * Begins joining through the given seed addresses (our own address is ignored). With
   * `discovery` (multicast), more seeds may arrive through `addSeed`, so the member waits out the
   * join timeout instead of concluding early that nobody is there.
   */
  start(now: number, seeds: readonly string[], discovery = this.discovery): MembershipEffect[] {
    this.discovery = discovery;
    assert(this.stateValue === 'idle' || this.stateValue === 'joining', `start in state ${this.stateValue}`);
    this.stateValue = 'joining';
    this.joinStartedAt = now;
    this.seeds = seeds.filter((s) => s !== this.local.address);
    this.fellowJoiners.clear();
    this.masterHint = null;
    this.unreachableSeeds.clear();
    this.clusterSeenAt = -Infinity;
    this.listValue = { version: 0, members: [] };
    this.lastHeard.clear();
    if (this.seeds.length === 0 && !this.discovery) return this.becomeMaster(now);
    return this.sendJoinRequests();
  }

  /** A seed found by discovery (multicast). While joining, it is asked at once. */
  addSeed(address: string, _now: number): MembershipEffect[] {
    if (address === this.local.address || this.seeds.includes(address)) return [];
    this.seeds.push(address);
    if (this.stateValue !== 'joining' || this.masterHint !== null) return [];
    return [this.send(address, { type: 'join-request', member: this.local })];
  }

  tick(now: number): MembershipEffect[] {
    switch (this.stateValue) {
      case 'joining':
        return this.tickJoining(now);
      case 'member':
        return this.tickMember(now);
      default:
        return [];
    }
  }

  handle(from: string, message: MembershipMessage, now: number): MembershipEffect[] {
    if (this.stateValue === 'idle' || this.stateValue === 'left') return [];
    this.unreachableSeeds.delete(from);
    switch (message.type) {
      case 'join-request':
        return this.handleJoinRequest(message.member, now);
      case 'join-joining':
        if (this.stateValue !== 'joining') return [];
        this.fellowJoiners.set(message.member.address, message.member);
        // The master we were pointed to is joining itself (it died and restarted at the same
        // address): ask the seeds again. Asking only it, we would miss the member that takes
        // over and, once the seeds' answers grew old, found a second cluster (seed 2902).
        if (from === this.masterHint) this.masterHint = null;
        return [];
      case 'join-master-is':
        if (this.stateValue !== 'joining') return [];
        // A cluster exists: this member must join it, never found one of its own.
        this.clusterSeenAt = now;
        if (message.master !== this.local.address) {
          this.masterHint = message.master;
          return [this.send(message.master, { type: 'join-request', member: this.local })];
        }
        // They still follow our previous incarnation (we restarted faster than they noticed):
        // keep asking the seeds until one of them has taken over as master.
        this.masterHint = null;
        return [];
      case 'member-list':
        return this.handleMemberList(from, message.list, now);
      case 'heartbeat':
        return this.handleHeartbeat(from, message.uuid, message.listVersion, message.listTerm ?? 0, now);
      case 'list-request':
        if (this.isMaster() && this.isMemberUuid(message.uuid)) {
          return [this.send(from, { type: 'member-list', list: this.listValue })];
        }
        return [];
      case 'leave':
        return this.handleLeave(message.uuid, now);
    }
  }

  /**
   * The transport could not reach `address`. Only noted: removal is decided by missing heartbeats,
   * so a brief connection loss does not remove a healthy member.
   */
  peerUnreachable(address: string, now: number, refused = true): MembershipEffect[] {
    if (this.stateValue !== 'joining') return [];
    if (address === this.masterHint) this.masterHint = null;
    // Only a refused connection proves nobody listens there; a reset or a timeout may hide a
    // live member (and founding a second cluster is for good: there is no merge).
    if (!refused) return [];
    this.unreachableSeeds.add(address);
    // Nobody is listening at any seed and no other joiner spoke to us: we are the first member,
    // no need to wait out the join timeout.
    // A seed that answered during this join is alive even if its connection was reset since.
    if (!this.discovery && this.clusterSeenAt === -Infinity && this.fellowJoiners.size === 0 && this.masterHint === null && this.seeds.every((s) => this.unreachableSeeds.has(s))) {
      return this.becomeMaster(now);
    }
    return [];
  }

  /** Graceful leave: tell the master (or, if we are master, everyone) and stop. */
  leave(_now: number): MembershipEffect[] {
    const effects: MembershipEffect[] = [];
    if (this.stateValue === 'member') {
      if (this.isMaster()) {
        const rest = this.listValue.members.filter((m) => m.uuid !== this.local.uuid);
        const list = this.nextList(rest, true);
        for (const m of rest) effects.push(this.send(m.address, { type: 'member-list', list }));
      } else if (this.master) {
        effects.push(this.send(this.master.address, { type: 'leave', uuid: this.local.uuid }));
      }
    }
    this.stateValue = 'left';
    return effects;
  }

  /**
   * Split-brain merge (see split-brain.ts): leave this cluster without a goodbye and join the
   * cluster whose master is at `master`, asking only it.
   */
  mergeInto(now: number, master: string): MembershipEffect[] {
    if (this.stateValue !== 'member' || master === this.local.address) return [];
    this.stateValue = 'joining';
    return this.start(now, [master]);
  }

  /** Members by uuid, for lookups by the engine. */
  memberByUuid(uuid: string): MemberInfo | undefined {
    return this.listValue.members.find((m) => m.uuid === uuid);
  }

  // --- joining -------------------------------------------------------------------------------

  private sendJoinRequests(): MembershipEffect[] {
    const targets = this.masterHint ? [this.masterHint] : this.seeds;
    return targets.map((to) => this.send(to, { type: 'join-request', member: this.local }));
  }

  private tickJoining(now: number): MembershipEffect[] {
    if (now - this.joinStartedAt < this.options.joinTimeoutMs) {
      if (now - this.lastHeartbeatSent >= this.options.heartbeatIntervalMs) {
        this.lastHeartbeatSent = now;
        return this.sendJoinRequests();
      }
      return [];
    }
    // A member of an existing cluster answered recently: keep asking rather than found a second
    // cluster (there is no merge, so a split brain would be for good).
    if (now - this.clusterSeenAt < this.options.joinTimeoutMs) {
      if (now - this.lastHeartbeatSent >= this.options.heartbeatIntervalMs) {
        this.lastHeartbeatSent = now;
        return this.sendJoinRequests();
      }
      return [];
    }
    // No master answered in time. Among the joiners that know of each other, the lowest address
    // becomes master; the others keep asking it to admit them.
    const lowest = [...this.fellowJoiners.keys(), this.local.address].sort(compareAddress)[0];
    if (lowest === this.local.address) return this.becomeMaster(now);
    if (now - this.lastHeartbeatSent >= this.options.heartbeatIntervalMs) {
      this.lastHeartbeatSent = now;
      this.masterHint = lowest;
      return [this.send(lowest, { type: 'join-request', member: this.local })];
    }
    return [];
  }

  private becomeMaster(now: number): MembershipEffect[] {
    this.stateValue = 'member';
    const list: MemberList = this.nextList([this.local], true);
    this.fellowJoiners.clear();
    this.lastHeard.set(this.local.uuid, now);
    return this.installList(list, now);
  }

  private handleJoinRequest(joiner: MemberInfo, now: number): MembershipEffect[] {
    if (joiner.uuid === this.local.uuid) return [];
    if (this.stateValue === 'joining') {
      this.fellowJoiners.set(joiner.address, joiner);
      return [this.send(joiner.address, { type: 'join-joining', member: this.local })];
    }
    // A member we list that has not received the list admitting it yet (its master died first)
    // keeps asking to join, and sends no heartbeats until it does: its requests show it alive.
    // Counted silent, a master that just took over removed it the moment it got in, with the
    // partition it had been given (seed 4818).
    if (this.isMemberUuid(joiner.uuid)) this.lastHeard.set(joiner.uuid, now);
    if (!this.isMaster()) {
      const master = this.master;
      return master ? [this.send(joiner.address, { type: 'join-master-is', master: master.address })] : [];
    }
    const existing = this.memberByUuid(joiner.uuid);
    if (existing) {
      // A retried request from a member we already admitted: resend the list.
      return [this.send(joiner.address, { type: 'member-list', list: this.listValue })];
    }
    // The same address under a new uuid is a restarted member: the old incarnation is dead.
    const members = this.listValue.members.filter((m) => m.address !== joiner.address);
    if (members.length >= this.options.membersMax) return [];
    this.lastHeard.set(joiner.uuid, now);
    return this.publish(this.nextList([...members, joiner], false), now);
  }

  // --- member lists ---------------------------------------------------------------------------

  /** The next list this member publishes as master: a new term when it just became master. */
  private nextList(members: readonly MemberInfo[], newTerm: boolean): MemberList {
    const term = (this.listValue.term ?? 0) + (newTerm ? 1 : 0);
    return { version: this.listValue.version + 1, term, members };
  }

  private handleMemberList(from: string, list: MemberList, now: number): MembershipEffect[] {
    // Our master is silent and the sender is the member our own takeover rule says succeeds it:
    // its list is taken whatever its (term, version). Terms are not unique: two members that each
    // took over from the same list (one cut off when the other published) both count the next
    // term, and a member holding the dead one's list refused the live one's lists of that term for
    // good, as they came from a member that was not its master (seed 1626).
    const fromSuccessor = this.successorOfSilentMaster(now)?.address === from;
    if (this.stateValue === 'member' && !fromSuccessor) {
      // Newer means a later term, or a later version of our own master's term (see MemberList.term).
      const term = list.term ?? 0;
      const ours = this.listValue.term ?? 0;
      if (term < ours) return [];
      if (term === ours && (list.version <= this.listValue.version || this.master?.address !== from)) return [];
    }
    const sender = list.members[0];
    // Only the master named in a list may publish it — or our current master handing over as it
    // leaves (its goodbye list no longer contains it).
    const masterLeaving = this.stateValue === 'member' && this.master?.address === from && !list.members.some((m) => m.address === from);
    if (!sender || (sender.address !== from && !masterLeaving)) return [];
    if (!list.members.some((m) => m.uuid === this.local.uuid)) {
      if (this.stateValue === 'member' && this.isMemberAddress(from)) {
        return this.dropOut(now, `removed from the member list by master ${from}`);
      }
      return [];
    }
    this.stateValue = 'member';
    this.masterHint = null;
    this.fellowJoiners.clear();
    return this.installList(list, now);
  }

  /** Master: publish a list to every member in it (including joiners). */
  private publish(list: MemberList, now: number): MembershipEffect[] {
    const effects = this.installList(list, now);
    for (const m of list.members) {
      if (m.uuid !== this.local.uuid) effects.push(this.send(m.address, { type: 'member-list', list }));
    }
    return effects;
  }

  private installList(list: MemberList, now: number): MembershipEffect[] {
    const before = new Map(this.listValue.members.map((m) => [m.uuid, m]));
    const after = new Map(list.members.map((m) => [m.uuid, m]));
    const added = list.members.filter((m) => !before.has(m.uuid));
    const removed = this.listValue.members.filter((m) => !after.has(m.uuid));
    this.listValue = list;
    for (const m of added) this.lastHeard.set(m.uuid, now);
    for (const m of removed) this.lastHeard.delete(m.uuid);
    assert(list.members.length > 0 && list.members.some((m) => m.uuid === this.local.uuid), 'installed a list without ourselves');
    return [{ kind: 'members-changed', list, added, removed }];
  }

  private dropOut(now: number, reason: string): MembershipEffect[] {
    const effects: MembershipEffect[] = [{ kind: 'removed-from-cluster', reason }];
    const seeds = this.seeds.length > 0 ? this.seeds : this.listValue.members.map((m) => m.address);
    this.stateValue = 'joining';
    effects.push(...this.start(now, seeds));
    return effects;
  }

  // --- heartbeats and failure detection -------------------------------------------------------

  private handleHeartbeat(from: string, uuid: string, listVersion: number, listTerm: number, now: number): MembershipEffect[] {
    if (this.stateValue !== 'member') return [];
    const term = this.listValue.term ?? 0;
    if (!this.isMemberUuid(uuid)) {
      // A member we do not list still believes it is in the cluster: we removed it, or we took
      // over as master without having seen the list that admitted it. Left alone, it would
      // outlive the members it follows and take over as the master of a cluster of its own
      // (seed 508: two owners per partition). Our list tells it it is out (a later term, or a
      // later version of its own master's): it drops out and joins again.
      return this.isMaster() && listTerm <= term ? [this.send(from, { type: 'member-list', list: this.listValue })] : [];
    }
    this.lastHeard.set(uuid, now);
    const master = this.master;
    if (master && uuid === master.uuid && listVersion > this.listValue.version) {
      return [this.send(from, { type: 'list-request', uuid: this.local.uuid })];
    }
    // Our master is silent and this is the member that succeeds it: ask for its list. Its
    // heartbeat's (term, version) may equal ours although the lists differ (two takeovers from
    // the same list each count the same next term and version), so neither side would see
    // that we are behind, and a list it published before our master fell silent was refused.
    // A member that has not taken over yet ignores the request.
    if (this.successorOfSilentMaster(now)?.uuid === uuid) {
      return [this.send(from, { type: 'list-request', uuid: this.local.uuid })];
    }
    // A member behind our list missed its publication (a connection reset lost it, or the master
    // that sent it died first). Each list is published once and a member asks only the master it
    // knows for a newer one, so it would follow a dead master for good (seed 6): send it ours.
    if (this.isMaster() && (listTerm < term || (listTerm === term && listVersion < this.listValue.version))) {
      return [this.send(from, { type: 'member-list', list: this.listValue })];
    }
    return [];
  }

  private handleLeave(uuid: string, now: number): MembershipEffect[] {
    if (!this.isMaster() || !this.isMemberUuid(uuid) || uuid === this.local.uuid) return [];
    const members = this.listValue.members.filter((m) => m.uuid !== uuid);
    return this.publish(this.nextList(members, false), now);
  }

  private tickMember(now: number): MembershipEffect[] {
    const effects: MembershipEffect[] = [];
    if (now - this.lastHeartbeatSent >= this.options.heartbeatIntervalMs) {
      this.lastHeartbeatSent = now;
      for (const m of this.listValue.members) {
        if (m.uuid === this.local.uuid) continue;
        effects.push(this.send(m.address, { type: 'heartbeat', uuid: this.local.uuid, listVersion: this.listValue.version, listTerm: this.listValue.term ?? 0 }));
      }
    }
    const silent = (m: MemberInfo): boolean => this.isSilent(m, now);

    if (this.isMaster()) {
      const dead = this.listValue.members.filter(silent);
      if (dead.length > 0) {
        const members = this.listValue.members.filter((m) => !dead.includes(m));
        effects.push(...this.publish(this.nextList(members, false), now));
      }
      return effects;
    }
    // Not master: if every member older than us is silent, we are the oldest live member and take over.
    const localIndex = this.listValue.members.findIndex((m) => m.uuid === this.local.uuid);
    const older = this.listValue.members.slice(0, localIndex);
    if (older.length > 0 && older.every(silent)) {
      const members = this.listValue.members.filter((m) => !silent(m));
      effects.push(...this.publish(this.nextList(members, true), now));
    }
    return effects;
  }

  private isSilent(m: MemberInfo, now: number): boolean {
    return m.uuid !== this.local.uuid && now - (this.lastHeard.get(m.uuid) ?? now) > this.options.maxNoHeartbeatMs;
  }

  /**
   * The member expected to have taken over from our silent master: the oldest member older than
   * us that we still hear (the takeover rule of `tickMember`, seen from a younger member). Null
   * when we are not a member, are master, still hear our master, or would take over ourselves.
   */
  private successorOfSilentMaster(now: number): MemberInfo | null {
    if (this.stateValue !== 'member' || this.isMaster()) return null;
    const members = this.listValue.members;
    const localIndex = members.findIndex((m) => m.uuid === this.local.uuid);
    const successor = members.slice(0, localIndex).find((m) => !this.isSilent(m, now));
    return successor !== undefined && successor.uuid !== members[0]?.uuid ? successor : null;
  }

  private isMemberUuid(uuid: string): boolean {
    return this.listValue.members.some((m) => m.uuid === uuid);
  }

  private isMemberAddress(address: string): boolean {
    return this.listValue.members.some((m) => m.address === address);
  }

  private send(to: string, message: MembershipMessage): MembershipEffect {
    return { kind: 'send', to, message };
  }
}

/** Orders `host:port` strings by host, then numerically by port. */
export function compareAddress(a: string, b: string): number {
  const ia = a.lastIndexOf(':');
  const ib = b.lastIndexOf(':');
  const ha = a.slice(0, ia);
  const hb = b.slice(0, ib);
  if (ha !== hb) return ha < hb ? -1 : 1;
  return Number(a.slice(ia + 1)) - Number(b.slice(ib + 1));
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`invariant broken: ${message}`);
}
