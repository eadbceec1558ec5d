/**
 * Named places in the engine where tests and the simulator inject rare events. Inactive in
 * production: every site is behind `active`, a plain boolean checked first, so a normal member
 * pays one branch.
 *
 * Deliberate bugs (`bugs`) exist only to prove the simulator's checkers catch them.
 */
export interface FaultSites {
  readonly active: boolean;
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
}

export const NO_FAULTS: FaultSites = {
  active: false,
  dropBackup: () => false,
  atMigrationStep: () => null,
  afterApply: () => null,
};
