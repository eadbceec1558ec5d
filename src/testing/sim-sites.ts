/**
 * The engine's fault sites as the simulator drives them: each member incarnation gets its own
 * `SimFaultSites`, with its own random stream, so what one member's sites decide never shifts
 * another member's (or the network's) random numbers.
 */
import { NO_BUGS, type DeliberateBugs, type FaultSites } from '../engine/fault-sites.js';
import type { Prng } from './prng.js';
import type { FaultCounter, Trace } from './trace.js';
import type { SimProcess } from './virtual-time.js';

export interface SiteFaultRates {
  /** Probability that one backup send is dropped (`site.drop-backup`). */
  readonly dropBackupRate: number;
  /** Probability that a migration step (prepare, apply, commit, finalize) is held back. */
  readonly migrationStepRate: number;
  /** Longest hold of a migration step, ms. */
  readonly migrationStepDelayMaxMs: number;
}

export const NO_SITE_FAULTS: SiteFaultRates = Object.freeze({ dropBackupRate: 0, migrationStepRate: 0, migrationStepDelayMaxMs: 0 });

export type OwnerRunObserver = (memberUuid: string, partitionId: number, partitionVersion: number) => void;

export class SimFaultSites implements FaultSites {
  readonly active = true;
  /** False stops injecting (observation and deliberate bugs stay on). */
  injecting = true;

  constructor(
    readonly rates: SiteFaultRates,
    readonly bugs: DeliberateBugs = NO_BUGS,
    private readonly rng: Prng,
    private readonly process: SimProcess,
    private readonly faults: FaultCounter,
    private readonly trace: Trace,
    private readonly onOwnerRun: OwnerRunObserver,
  ) {}

  dropBackup(partitionId: number, replicaIndex: number): boolean {
    if (!this.injecting || this.rates.dropBackupRate <= 0) return false;
    if (!this.rng.chance(this.rates.dropBackupRate)) return false;
    this.faults.count('site.drop-backup');
    this.trace.record(this.process.runtime.clock.now(), `site ${this.process.name} drop-backup p${partitionId} r${replicaIndex}`);
    return true;
  }

  atMigrationStep(step: string, partitionId: number): Promise<void> | null {
    if (!this.injecting || this.rates.migrationStepRate <= 0) return null;
    if (!this.rng.chance(this.rates.migrationStepRate)) return null;
    const delay = Math.round(this.rng.real(1, Math.max(1, this.rates.migrationStepDelayMaxMs)));
    this.faults.count(`site.${step}`);
    this.trace.record(this.process.runtime.clock.now(), `site ${this.process.name} hold ${step} p${partitionId} ${delay}ms`);
    return new Promise<void>((resolve) => {
      this.process.runtime.timers.after(delay, resolve);
    });
  }

  afterApply(_partitionId: number): Promise<void> | null {
    return null;
  }

  ownerRunning(memberUuid: string, partitionId: number, partitionVersion: number): void {
    // A crashed process runs nothing; what its engine objects still do as promises settle is moot.
    if (this.process.dead) return;
    this.onOwnerRun(memberUuid, partitionId, partitionVersion);
  }
}
