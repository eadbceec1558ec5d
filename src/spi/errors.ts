/**
 * Errors a caller can see. Each has a stable `name` so it survives the wire: a remote member sends
 * the name and message, the caller rebuilds the same class.
 */
export class ShoalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The call did not complete within its timeout. Whether it was applied is unknown. */
export class OperationTimeoutError extends ShoalError {}

/**
 * The write may or may not have been applied (for example the owner applied it but its
 * synchronous backups did not acknowledge in time, or the owner died and no record decides it).
 */
export class IndeterminateOperationStateError extends ShoalError {}

/** The member this call ran on has no such service, or no service accepts this operation. */
export class ServiceNotFoundError extends ShoalError {}

/** A frame named an operation type id that is not registered on the receiving member. */
export class UnknownOperationTypeError extends ShoalError {}

/** `run()` threw on the member that executed the operation; the message is the remote one. */
export class RemoteExecutionError extends ShoalError {
  /** The class name of the error thrown remotely. */
  readonly remoteName: string;
  constructor(remoteName: string, message: string) {
    super(message);
    this.remoteName = remoteName;
  }
}

/** The instance was shut down or terminated; no more calls are accepted. */
export class InstanceNotActiveError extends ShoalError {}

/** A resource (member, partition) needed by the call is not available. */
export class ResourceUnavailableError extends ShoalError {}

/** No named partition has that name. */
export class PartitionNotFoundError extends ShoalError {}

/** Restoring a named partition found an object with the same key on both sides. */
export class ObjectNotUniqueError extends ShoalError {}

/** `Partition.migrate` was called on a member that is not the partition's active node. */
export class NotActiveNodeError extends ShoalError {}

/** A named partition's node list differs from the cluster's definition (sparse partition audit). */
export class NodeListMismatchError extends ShoalError {}

/** Internal: the target did not own the partition. Retried by the invocation, never surfaced. */
export class WrongTargetError extends ShoalError {}

const byName = new Map<string, new (message: string) => ShoalError>([
  ['OperationTimeoutError', OperationTimeoutError],
  ['IndeterminateOperationStateError', IndeterminateOperationStateError],
  ['ServiceNotFoundError', ServiceNotFoundError],
  ['UnknownOperationTypeError', UnknownOperationTypeError],
  ['InstanceNotActiveError', InstanceNotActiveError],
  ['ResourceUnavailableError', ResourceUnavailableError],
  ['PartitionNotFoundError', PartitionNotFoundError],
  ['ObjectNotUniqueError', ObjectNotUniqueError],
  ['NotActiveNodeError', NotActiveNodeError],
  ['NodeListMismatchError', NodeListMismatchError],
  ['WrongTargetError', WrongTargetError],
]);

/** Rebuilds an error received from another member. Unknown names become RemoteExecutionError. */
export function errorFromWire(name: string, message: string): Error {
  const ctor = byName.get(name);
  return ctor ? new ctor(message) : new RemoteExecutionError(name, message);
}
