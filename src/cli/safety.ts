/**
 * Tells the operator when it is safe to take the next member down: after the member starts and
 * after every member-list change, one info line `cluster safe: …` is logged as soon as this member
 * sees no migration, no replica sync and no unbalanced partition (`PartitionService.waitForMigrations`,
 * which is event-driven, no polling). During a rolling restart, wait for that line on the
 * remaining members before stopping the next one. While the cluster stays unsafe, a warning
 * repeats every `unsafeWarnMs`.
 */
import type { Logger } from 'pino';
import type { ShoalInstance } from '../engine/instance.js';

export const SAFE_MESSAGE = 'cluster safe: no migration or replica sync pending on this member';

/** Starts watching; returns a function that stops it (call before shutting the member down). */
export function watchClusterSafety(instance: ShoalInstance, log: Logger, unsafeWarnMs = 60_000): () => void {
  const partitions = instance.getPartitionService();
  const cluster = instance.getCluster();
  let stopped = false;
  let waiting = false;

  const arm = (): void => {
    // A wait in progress resolves only once the member is safe after this change too.
    if (stopped || waiting) return;
    waiting = true;
    partitions.waitForMigrations({ timeout: unsafeWarnMs }).then(
      () => {
        waiting = false;
        if (!stopped) log.info({ members: cluster.getMembers().length }, SAFE_MESSAGE);
      },
      (error: unknown) => {
        waiting = false;
        if (stopped || !instance.isRunning()) return;
        log.warn(`cluster not safe yet: ${error instanceof Error ? error.message : String(error)}`);
        arm();
      },
    );
  };

  const id = cluster.addMembershipListener({ memberAdded: arm, memberRemoved: arm });
  arm();
  return () => {
    stopped = true;
    cluster.removeMembershipListener(id);
  };
}
