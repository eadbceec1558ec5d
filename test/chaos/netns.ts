/**
 * Linux network namespaces for the chaos run, driven with iproute2 only (`ip`): no iptables, nft
 * or tc netem is needed, since a partition is a blackhole route.
 *
 * Layout of one lab (`<prefix><pid>-<label>` below, e.g. `shoal-chaos-4711-run`):
 *
 *   <base>-hub       a bridge `br0`, and the bridge end `h<i>` of every host's veth pair
 *   <base>-h<i>      one per member process: `lo` and `v0` (the other end of the pair) with
 *                    address `<subnet>.<i>/24`
 *
 * Both ends of a pair are created directly in their namespaces (`ip link add … netns …`), so no
 * interface ever appears in the root namespace, and addresses exist only inside the lab; members
 * bind and advertise their host's address and reach the others across the bridge.
 *
 * A cut from host X to host Y is `ip -n <X> route add blackhole <Y>/32`: X's packets to Y are
 * discarded (its connects fail at once, its established connections retransmit into nothing); Y
 * still sends to X, though TCP stalls soon after, since X's acknowledgements do not get back.
 * Healing deletes the routes; TCP retransmission then delivers what was queued.
 *
 * Cleanup: every namespace of the lab is deleted by `dispose` and, synchronously, on process exit
 * (deleting a namespace takes its veth pair with it). Namespaces carry the PID of the process that
 * made them, so `removeStaleNamespaces` deletes only those of runs that are gone.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';

/** Every namespace this code creates starts with this, followed by the creating process's PID. */
export const NETNS_PREFIX = 'shoal-chaos-';

const IP_TIMEOUT_MS = 10_000;

/** One member's place in the lab. */
export interface NetnsHost {
  readonly ns: string;
  readonly ip: string;
  readonly index: number;
}

function ip(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, { timeout: IP_TIMEOUT_MS }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Several commands in one namespace with one `ip` process (`ip -n ns -batch -`). */
function ipBatch(ns: string, lines: readonly string[]): Promise<void> {
  if (lines.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'], timeout: IP_TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ip -n ${ns} -batch (${lines.join('; ')}): exit ${String(code)}: ${stderr.trim()}`));
    });
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

/**
 * Why this process cannot build namespaces, or null when it can try: Linux, root, `ip` present.
 * (Whether `ip netns add` is permitted shows only when the lab is opened: a container may refuse.)
 */
export async function netnsUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'network namespaces need root (ip netns add)';
  try {
    await ip(['-V']);
  } catch (error) {
    return `iproute2's ip is not usable: ${error instanceof Error ? error.message : String(error)}`;
  }
  return null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but is not ours to signal; it is alive all the same.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes namespaces with our prefix whose creating process is gone (a run that was SIGKILLed
 * leaves them behind). Namespaces of live processes, and anything without our prefix, are left
 * alone. Returns the names deleted.
 */
export function removeStaleNamespaces(): string[] {
  let listing: string;
  try {
    listing = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS });
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of listing.split('\n')) {
    const name = line.trim().split(/\s+/)[0] ?? '';
    if (!name.startsWith(NETNS_PREFIX)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(NETNS_PREFIX.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
    try {
      execFileSync('ip', ['netns', 'del', name], { timeout: IP_TIMEOUT_MS, stdio: 'ignore' });
      removed.push(name);
    } catch {
      // deleted meanwhile by someone else: nothing to do
    }
  }
  return removed;
}

/** A hub bridge and one namespace per member; blackhole routes between them. */
export class NetnsLab {
  readonly base: string;
  private readonly hub: string;
  private readonly hosts: NetnsHost[] = [];
  /** Every namespace created, hub first: what dispose deletes. */
  private readonly created: string[] = [];
  /** Installed cuts: namespace → destination addresses blackholed there. */
  private readonly cuts = new Map<string, Set<string>>();
  private disposed = false;
  private readonly onExit = (): void => this.disposeSync();

  private constructor(
    label: string,
    /** First three octets of the lab's /24, e.g. `10.77.1`. */
    private readonly subnet: string,
  ) {
    this.base = `${NETNS_PREFIX}${process.pid}-${label}`;
    this.hub = `${this.base}-hub`;
    // Registered before anything exists, so a crash half-way through set-up still cleans up.
    process.on('exit', this.onExit);
  }

  /** Builds the hub; fails (having cleaned up) if this host does not permit namespaces. */
  static async open(label: string, subnet: string): Promise<NetnsLab> {
    if (!/^[a-z0-9]{1,12}$/.test(label)) throw new Error(`lab label '${label}': 1-12 lowercase letters or digits`);
    if (!/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(subnet)) throw new Error(`subnet '${subnet}': three octets, e.g. 10.77.1`);
    const lab = new NetnsLab(label, subnet);
    try {
      await ip(['netns', 'add', lab.hub]);
      lab.created.push(lab.hub);
      await ipBatch(lab.hub, ['link set lo up', 'link add br0 type bridge', 'link set br0 up']);
    } catch (error) {
      await lab.dispose();
      throw error;
    }
    return lab;
  }

  /** A new namespace on the bridge, with the next address. */
  async addHost(): Promise<NetnsHost> {
    if (this.disposed) throw new Error('lab disposed');
    const index = this.hosts.length + 1;
    if (index > 250) throw new Error('the lab /24 is full');
    const ns = `${this.base}-h${index}`;
    const host: NetnsHost = { ns, ip: `${this.subnet}.${index}`, index };
    await ip(['netns', 'add', ns]);
    this.created.push(ns);
    await ip(['link', 'add', 'v0', 'netns', ns, 'type', 'veth', 'peer', 'name', `h${index}`, 'netns', this.hub]);
    await ipBatch(this.hub, [`link set h${index} master br0`, `link set h${index} up`]);
    await ipBatch(ns, ['link set lo up', `addr add ${host.ip}/24 dev v0`, 'link set v0 up']);
    this.hosts.push(host);
    return host;
  }

  /** The command prefix that runs a process in the host's namespace (`ip netns exec` execs in place). */
  launcher(host: NetnsHost): string[] {
    return ['ip', 'netns', 'exec', host.ns];
  }

  hostOf(address: string): NetnsHost | undefined {
    const at = address.lastIndexOf(':');
    const addr = at < 0 ? address : address.slice(0, at);
    return this.hosts.find((h) => h.ip === addr);
  }

  /** Cuts traffic `from → to` for every pair, all namespaces at once. */
  async cut(pairs: readonly (readonly [from: NetnsHost, to: NetnsHost])[]): Promise<void> {
    const add = new Map<string, string[]>();
    for (const [from, to] of pairs) {
      if (from.ns === to.ns) continue;
      let installed = this.cuts.get(from.ns);
      if (installed === undefined) this.cuts.set(from.ns, (installed = new Set()));
      if (installed.has(to.ip)) continue;
      installed.add(to.ip);
      let lines = add.get(from.ns);
      if (lines === undefined) add.set(from.ns, (lines = []));
      lines.push(`route add blackhole ${to.ip}/32`);
    }
    await Promise.all([...add].map(([ns, lines]) => ipBatch(ns, lines)));
  }

  /** Number of one-way cuts in place. */
  get cutCount(): number {
    let n = 0;
    for (const s of this.cuts.values()) n += s.size;
    return n;
  }

  /** Removes every cut. */
  async healAll(): Promise<void> {
    const work = [...this.cuts].map(([ns, ips]) => ipBatch(ns, [...ips].map((a) => `route del blackhole ${a}/32`)));
    this.cuts.clear();
    await Promise.all(work);
  }

  /**
   * Deletes every namespace of the lab. Call it once the processes in them are gone (a namespace
   * whose name is deleted lives on until its last process exits, then takes its veth pair along).
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    this.cuts.clear();
    // Reverse order of creation: the hub, which every pair is plugged into, goes last.
    for (const ns of [...this.created].reverse()) {
      try {
        await ip(['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    this.created.length = 0;
  }

  /** `dispose` for exit and signal handlers, which cannot wait for promises. */
  disposeSync(): void {
    if (this.disposed) return;
    this.disposed = true;
    process.off('exit', this.onExit);
    for (const ns of [...this.created].reverse()) {
      try {
        execFileSync('ip', ['netns', 'del', ns], { timeout: IP_TIMEOUT_MS, stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    this.created.length = 0;
  }

  /** Names of the namespaces that exist now with this lab's prefix (for checking cleanup). */
  static existing(base: string): string[] {
    try {
      return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: IP_TIMEOUT_MS })
        .split('\n')
        .map((l) => l.trim().split(/\s+/)[0] ?? '')
        .filter((n) => n.startsWith(`${base}-`));
    } catch {
      return [];
    }
  }
}
