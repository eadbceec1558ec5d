/**
 * `shoal/testing`: the deterministic cluster simulator, its fault model and its checkers.
 *
 * - `Simulation` runs real members (engine, services, codecs) over a simulated network on
 *   virtual time; `SimMember`s crash, restart, pause, join and leave on command.
 * - `runSeed` / `runBatch` run the built-in scenario (a counter under faults) from a seed.
 * - The checkers (`counterWithinAckedRange`, `singleOwnerPerPartitionVersion`,
 *   `replicasConverge`, `membershipAgrees`, `liveness`) work on plain views, so they apply to
 *   any service. See docs/testing.md.
 */
export {
  Simulation,
  SimMember,
  DEFAULT_CLUSTER_SETTINGS,
  memberView,
  describeError,
  type ClusterSettings,
  type MemberStatus,
  type ServiceFactory,
  type ServiceSpec,
  type SimulationSetup,
} from './simulation.js';
export { Prng, SEED_MAX, checkSeed } from './prng.js';
export { Scheduler, SimProcess, type SimTimer } from './virtual-time.js';
export { CALM_NETWORK, InboundGate, SimNetwork, SimTransport, type NetworkFaultRates } from './sim-network.js';
export { NO_SITE_FAULTS, SimFaultSites, type SiteFaultRates, type OwnerRunObserver } from './sim-sites.js';
export { FaultCounter, Trace, formatTime } from './trace.js';
export * from './checkers/index.js';
export { CounterHistory, CounterWorkload, classifyError, type CounterCall, type CounterWorkloadOptions } from './workload.js';
export { SIM_COUNTER_SERVICE, SimCounterService, SimCounterReplicaOp, SimCounterTaggedReplicaOp, SimGetOp, SimIncBackupOp, SimIncOp } from './counter-service.js';
export { Nemesis } from './nemesis.js';
export { NamedApp, emptyNamedStats, type NamedStats } from './named-app.js';
export {
  BEYOND_CONTRACT_FAULTS,
  BUG_NAMES,
  DEFAULT_FAULTS,
  FAULT_KINDS,
  deriveOptions,
  describeNamed,
  describeOptions,
  parseBugs,
  parseFaults,
  type FaultKind,
  type NamedPartitionSpec,
  type NamedSetup,
  type SimMode,
  type SimOptions,
  type SimOverrides,
} from './options.js';
export { runOptions, runSeed, type RunSeedExtras, type SeedResult } from './run-seed.js';
export { runBatch, summarise, type BatchOptions, type BatchSummary, type SeedSummary } from './runner.js';
export { NO_BUGS, type DeliberateBugs, type FaultSites } from '../engine/fault-sites.js';
