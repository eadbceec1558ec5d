/**
 * Engine frames (the payload of a transport frame). The first byte is the kind.
 *
 *   OPERATION  kind u8 | callerEpoch i32 | callId long | lowWater long | partitionId i32
 *              | flags u8 | serviceName UTF | typeId i32 | operation fields (writeInternal)
 *              (lowWater: the caller's oldest call in flight; owners drop call records below it)
 *   RESPONSE   kind u8 | callId long | callerEpoch i32 | status u8 | OK: value (writeObject)
 *                                                 | ERROR: name UTF, message UTF
 *                                                 | RETRY: reason UTF
 *   BACKUP     kind u8 | partitionId i32 | replicaIndex u8 | replicaVersion long | ackId long
 *              | ownerEpoch i32
 *              | caller UTF (null: no call record) [| callId long | lowWater long | response]
 *              | serviceName UTF | typeId i32 | fields
 *   BACKUP_ACK kind u8 | ackId long | ownerEpoch i32 | ok u8
 *   (the epochs echo the incarnation a response or ack is for: ids restart with each one)
 *   CONTROL    kind u8 | message (writeObject of a plain object with a `type`)
 *
 * Operation types travel as registered integer ids, never as class names.
 */
import type { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import type { Operation } from '../spi/operation.js';
import type { TypeRegistry } from '../serialization/type-registry.js';
import { UnknownOperationTypeError } from '../spi/errors.js';

export const enum FrameKind {
  OPERATION = 1,
  RESPONSE = 2,
  BACKUP = 3,
  BACKUP_ACK = 4,
  CONTROL = 5,
}

export const enum ResponseStatus {
  OK = 0,
  ERROR = 1,
  RETRY = 2,
}

/** Bytes of an OPERATION frame before its service name: kind, epoch, callId, lowWater, partitionId, flags. */
export const OPERATION_HEADER_BYTES = 1 + 4 + 8 + 8 + 4 + 1;

export const enum OpFlags {
  RETURNS_RESPONSE = 1,
}

/** The type id of an operation instance, read from its class's static `typeId`. */
export function typeIdOf(op: Operation): number {
  const id = (op.constructor as { typeId?: unknown }).typeId;
  if (typeof id !== 'number' || !Number.isInteger(id)) {
    throw new TypeError(`${op.constructor.name} has no static numeric typeId; declare 'static readonly typeId = <n>' and registerOperation() it`);
  }
  return id;
}

/** Writes service name, type id and fields: the part shared by operations, backups and replication. */
export function writeOperationBody(out: ObjectDataOutput, serviceName: string, op: Operation): void {
  out.writeUTF(serviceName);
  out.writeInt(typeIdOf(op));
  op.writeInternal(out);
}

export interface DecodedOperationBody {
  readonly serviceName: string;
  readonly op: Operation;
}

/** Reads what `writeOperationBody` wrote. Throws UnknownOperationTypeError for an unregistered id. */
export function readOperationBody(input: ObjectDataInput, registry: TypeRegistry): DecodedOperationBody {
  const serviceName = input.readUTF();
  const typeId = input.readInt();
  if (!registry.has(typeId)) {
    throw new UnknownOperationTypeError(`unknown operation type id ${typeId} for service '${serviceName}': register the operation class with registerOperation() on every member`);
  }
  const op = registry.create(typeId) as Operation;
  op.readInternal(input);
  return { serviceName, op };
}
