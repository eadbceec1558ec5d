/**
 * Where parsed config came from, kept beside the objects (in WeakMaps) rather than in them, so a
 * `Config` read from a file stays a plain `Config` and two configs read from different files can
 * still compare deep-equal.
 */
import type { FileFormat } from './layout.js';

export interface ConfigOrigin {
  /** The file as the user named it (used in messages). */
  file: string;
  format: FileFormat;
  /** `pathKey` of a `Config` path → 1-based line where that setting is written. */
  lines: ReadonlyMap<string, number>;
}

export interface ServiceOrigin {
  file: string;
  line?: number;
}

const configOrigins = new WeakMap<object, ConfigOrigin>();
const serviceOrigins = new WeakMap<object, ServiceOrigin>();

export function setConfigOrigin(config: object, origin: ConfigOrigin): void {
  configOrigins.set(config, origin);
}

export function configOriginOf(config: object): ConfigOrigin | undefined {
  return configOrigins.get(config);
}

export function setServiceOrigin(service: object, origin: ServiceOrigin): void {
  serviceOrigins.set(service, origin);
}

export function serviceOriginOf(service: object): ServiceOrigin | undefined {
  return serviceOrigins.get(service);
}

/** The line of the nearest written ancestor of `path` (or of the path itself). */
export function lineOf(origin: ConfigOrigin, path: readonly (string | number)[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const line = origin.lines.get(path.slice(0, n).join('.'));
    if (line !== undefined) return line;
  }
  return undefined;
}
