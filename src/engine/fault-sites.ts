/**
 * Named places in the engine where tests and the simulator inject rare events. Inactive in
 * production: every site is behind `active`, a plain boolean checked first, so a normal member
 * pays one branch.
 *
 * Deliberate bugs (`bugs`) exist only to prove the simulator's checkers catch them.
 */
export interface FaultSites {
  readonly active: boolean;
  /**
   * Deliberate bugs, read only when `active` (absent: none). Each one breaks a rule the engine
   * promises, so a test can show that the simulator's checkers notice.
   */
  readonly bugs?: DeliberateBugs;
  /** True to drop the backup of this partition for this replica index (a lost async backup). */
  dropBackup(partitionId: number, replicaIndex: number): boolean;
  /**
   * Called at named migration steps; a returned promise holds the step until it settles
   * (a test can kill a member while it is held). Steps: 'migration.prepare', 'migration.apply',
   * 'migration.commit', 'migration.finalize'.
   */
  atMigrationStep(step: string, partitionId: number): Promise<void> | null;
  /** Called on the owner after an operation was applied, before its response is sent. */
  afterApply(partitionId: number): Promise<void> | null;
  /**
   * Observation, not a fault: called (only when `active`) on a member right before it runs an
   * operation as the owner of `partitionId`, with that partition's version in the member's own
   * table. The simulator's `singleOwnerPerPartitionVersion` checker is fed from here.
   */
  ownerRunning?(memberUuid: string, partitionId: number, partitionVersion: number): void;
}

/** Test-only bugs, each switched on by one flag; all false by default. */
export interface DeliberateBugs {
  /** The owner answers a write before its synchronous backups acknowledged it. */
  readonly ackBeforeBackups: boolean;
  /** A backup promoted to owner drops the data it held instead of serving it. */
  readonly promotedBackupDropsData: boolean;
  /** A migration source reports success (so the master commits) before the destination applied the data. */
  readonly commitBeforeDestinationApplied: boolean;
}

export const NO_BUGS: DeliberateBugs = Object.freeze({
  ackBeforeBackups: false,
  promotedBackupDropsData: false,
  commitBeforeDestinationApplied: false,
});

export const NO_FAULTS: FaultSites = {
  active: false,
  bugs: NO_BUGS,
  dropBackup: () => false,
  atMigrationStep: () => null,
  afterApply: () => null,
};
