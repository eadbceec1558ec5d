/**
 * Distributed objects: one proxy per (service, name) per member, created on every member
 * (including members that join later) before `getDistributedObject` resolves.
 */
import type { Address } from '../core/address.js';
import type { ObjectDataInput, ObjectDataOutput } from '../serialization/object-data.js';
import { registerType } from '../serialization/type-registry.js';
import { ServiceNotFoundError } from '../spi/errors.js';
import type { DistributedObject } from '../spi/distributed-object.js';
import type { Logger, ProxyService } from '../spi/node-engine.js';
import { isRemoteService, type RemoteService } from '../spi/services.js';
import { INTERNAL_SERVICE, InternalOperation } from './internal-operation.js';
import type { OperationServiceImpl } from './operation-service.js';

export interface ProxyServiceDeps {
  readonly logger: Logger;
  readonly operations: OperationServiceImpl;
  service(name: string): unknown;
  otherMembers(): Address[];
}

export class ProxyServiceImpl implements ProxyService {
  private readonly deps: ProxyServiceDeps;
  /** `service\0name` → proxy (or the promise of one being created). */
  private readonly proxies = new Map<string, DistributedObject>();
  private readonly creating = new Map<string, Promise<DistributedObject>>();

  constructor(deps: ProxyServiceDeps) {
    this.deps = deps;
  }

  private remoteService(serviceName: string): RemoteService {
    const service = this.deps.service(serviceName);
    if (service === undefined) throw new ServiceNotFoundError(`no service named '${serviceName}' is configured on this member`);
    if (!isRemoteService(service)) throw new ServiceNotFoundError(`service '${serviceName}' is not a RemoteService (it has no createDistributedObject/destroyDistributedObject)`);
    return service;
  }

  /** Creates the proxy on this member only (idempotent). */
  createLocal(serviceName: string, name: string): DistributedObject {
    const key = `${serviceName}\0${name}`;
    let proxy = this.proxies.get(key);
    if (proxy === undefined) {
      proxy = this.remoteService(serviceName).createDistributedObject(name);
      this.proxies.set(key, proxy);
    }
    return proxy;
  }

  destroyLocal(serviceName: string, name: string): void {
    const key = `${serviceName}\0${name}`;
    if (!this.proxies.delete(key)) return;
    this.remoteService(serviceName).destroyDistributedObject(name);
  }

  async getDistributedObject<T extends DistributedObject>(serviceName: string, name: string): Promise<T> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 1024) {
      throw new RangeError('a distributed object name must be a non-empty string of at most 1024 characters');
    }
    const key = `${serviceName}\0${name}`;
    const existing = this.proxies.get(key);
    if (existing !== undefined && !this.creating.has(key)) return existing as T;
    let pending = this.creating.get(key);
    if (pending === undefined) {
      pending = (async () => {
        const proxy = this.createLocal(serviceName, name);
        await Promise.all(
          this.deps.otherMembers().map((m) =>
            this.deps.operations.createInvocationBuilderOnMember(INTERNAL_SERVICE, new ProxyOp(serviceName, name, true), m).invoke(),
          ),
        );
        return proxy;
      })();
      this.creating.set(key, pending);
      pending.finally(() => this.creating.delete(key)).catch(() => {});
    }
    return (await pending) as T;
  }

  async destroyDistributedObject(serviceName: string, name: string): Promise<void> {
    this.destroyLocal(serviceName, name);
    await Promise.all(
      this.deps.otherMembers().map((m) =>
        this.deps.operations.createInvocationBuilderOnMember(INTERNAL_SERVICE, new ProxyOp(serviceName, name, false), m).invoke(),
      ),
    );
  }

  getDistributedObjects(): DistributedObject[] {
    return [...this.proxies.values()];
  }

  /** Sends every proxy this member knows to a member that just joined. */
  syncTo(member: Address): void {
    for (const key of this.proxies.keys()) {
      const [serviceName, name] = key.split('\0');
      this.deps.operations
        .createInvocationBuilderOnMember(INTERNAL_SERVICE, new ProxyOp(serviceName, name, true), member)
        .invoke()
        .catch((error: unknown) => this.deps.logger.warn({ err: error, serviceName, name }, 'could not create proxy on a new member'));
    }
  }

}

/** Creates or destroys one proxy on the member it runs on. */
export class ProxyOp extends InternalOperation {
  static readonly typeId = 10;
  constructor(
    private proxyService = '',
    private proxyName = '',
    private create = true,
  ) {
    super();
  }
  run(): void {
    const proxies = this.node().proxies;
    if (this.create) proxies.createLocal(this.proxyService, this.proxyName);
    else proxies.destroyLocal(this.proxyService, this.proxyName);
  }
  override writeInternal(out: ObjectDataOutput): void {
    out.writeUTF(this.proxyService);
    out.writeUTF(this.proxyName);
    out.writeBoolean(this.create);
  }
  override readInternal(input: ObjectDataInput): void {
    this.proxyService = input.readUTF();
    this.proxyName = input.readUTF();
    this.create = input.readBoolean();
  }
}

registerType(ProxyOp);
