import type { NodeEngine } from './node-engine.js';

/** A named object living in the cluster, reached through a local proxy. */
export interface DistributedObject {
  getName(): string;
  getServiceName(): string;
  /** Destroys the object on every member and drops the proxy. */
  destroy(): Promise<void>;
}

/** Base for proxies: holds the node engine and the service that created it. */
export abstract class AbstractDistributedObject<S = unknown> implements DistributedObject {
  private readonly nodeEngine: NodeEngine;
  private readonly service: S;

  constructor(nodeEngine: NodeEngine, service: S) {
    this.nodeEngine = nodeEngine;
    this.service = service;
  }

  abstract getName(): string;
  abstract getServiceName(): string;

  getNodeEngine(): NodeEngine {
    return this.nodeEngine;
  }

  getService(): S {
    return this.service;
  }

  destroy(): Promise<void> {
    return this.nodeEngine.getProxyService().destroyDistributedObject(this.getServiceName(), this.getName());
  }

  toString(): string {
    return `${this.constructor.name}{service=${this.getServiceName()}, name=${this.getName()}}`;
  }
}
