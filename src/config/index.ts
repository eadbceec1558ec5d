export type {
  BackupConfig,
  Config,
  ConfigSource,
  FailureDetectorConfig,
  InvocationConfig,
  JoinConfig,
  LoggingConfig,
  LoggingLevel,
  MigrationConfig,
  MulticastJoinConfig,
  NetworkConfig,
  ResolvedConfig,
  ResolvedServiceConfig,
  ServiceConfig,
  TcpIpJoinConfig,
} from './types.js';
export { LOGGING_LEVELS } from './types.js';
export { ConfigError, type ConfigLocation, type ConfigProblem } from './errors.js';
export { CONFIG_DEFAULTS, CONFIG_LIMITS } from './limits.js';
export { DEFAULT_CONFIG_FILES, loadConfig, parseXmlConfig, parseYamlConfig, resolveConfig } from './load.js';
export { instantiateService } from './service-loader.js';
