export { canonical, short, type MemberView, type Violation } from './types.js';
export {
  AckedValues,
  COUNTER_WITHIN_ACKED_RANGE,
  type AsyncLossAllowance,
  counterWithinAckedRange,
  type CallOutcome,
  type CounterCallRecord,
} from './counter-within-acked-range.js';
export {
  OwnerLedger,
  SINGLE_OWNER_PER_PARTITION_VERSION,
  singleOwnerPerPartitionVersion,
  type OwnerObservation,
} from './single-owner-per-partition-version.js';
export { REPLICAS_CONVERGE, isEmptyData, replicasConverge, type ReplicasConvergeOptions } from './replicas-converge.js';
export { MEMBERSHIP_AGREES, membershipAgrees } from './membership-agrees.js';
export { LIVENESS, liveness, type LivenessObservation } from './liveness.js';
