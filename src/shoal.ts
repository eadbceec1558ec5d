/** `Shoal.newInstance`: config in, running member out. */
import { loadConfig } from './config/load.js';
import { instantiateService } from './config/service-loader.js';
import type { Config, ResolvedConfig } from './config/types.js';
import { ShoalInstance } from './engine/instance.js';
import { createMemberLogger } from './engine/logging.js';
import { Node } from './engine/node.js';
import { createNodeRuntime } from './engine/node-runtime.js';
import { TcpTransport } from './transport/tcp.js';
import { MAP_SERVICE_NAME } from './map/name.js';
import type { FaultSites } from './engine/fault-sites.js';

export interface InstanceOptions {
  /** Test-only fault sites (see docs/testing.md). */
  readonly faults?: FaultSites;
}

export const Shoal = {
  /**
   * Starts a member and resolves once it has joined a cluster (or formed one).
   * `config`: a Config object, a path to an XML/YAML file, or nothing (then `./shoal.xml` or
   * `./shoal.yaml` if present, else defaults).
   */
  async newInstance(config?: Config | string, options: InstanceOptions = {}): Promise<ShoalInstance> {
    const resolved = await loadConfig(config);
    return startMember(resolved, options);
  },
};

async function startMember(config: ResolvedConfig, options: InstanceOptions): Promise<ShoalInstance> {
  const baseDir = config.source?.dir ?? process.cwd();
  const services = new Map<string, object>();
  for (const svc of config.services) {
    if (!svc.enabled) continue;
    services.set(svc.name, await instantiateService(svc, baseDir, config.source?.file));
  }
  if (!services.has(MAP_SERVICE_NAME)) {
    // The built-in map is written against the public API (src/index.ts), which imports this
    // module: loading it here, once the public API is fully evaluated, avoids an import cycle.
    const { MapService } = await import('./map/map-service.js');
    services.set(MAP_SERVICE_NAME, new MapService());
  }
  const runtime = createNodeRuntime();
  const logger = createMemberLogger(config.logging.level);
  const node = new Node({
    config,
    runtime,
    logger,
    services,
    faults: options.faults,
    createTransport: ({ uuid, name }) =>
      new TcpTransport(
        {
          host: config.network.host,
          port: config.network.port,
          portAutoIncrement: config.network.portAutoIncrement,
          portCount: config.network.portCount,
          clusterName: config.clusterName,
          memberUuid: uuid,
          memberName: name,
          frameBytesMax: config.network.frameBytesMax,
          peerQueueBytesMax: config.network.peerQueueBytesMax,
        },
        runtime,
        {
          info: (msg, fields) => logger.info(fields ?? {}, msg),
          warn: (msg, fields) => logger.warn(fields ?? {}, msg),
          debug: (msg, fields) => logger.debug(fields ?? {}, msg),
        },
      ),
  });
  try {
    await node.start();
  } catch (error) {
    await node.terminate().catch(() => {});
    throw error;
  }
  return new ShoalInstance(node);
}
