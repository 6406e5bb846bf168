/**
 * proxy.conf: parse, validate (every issue reported with file:line), freeze.
 */
export type {
  AuthType, ClusterConfig, EventFilterSpec, GeneralConfig, HostPort, ListenerConfig, LogLevel, ProxyConfig, ServerConfig, UserConfig,
} from './types.js';
export { AUTH_TYPES, LOG_LEVELS } from './types.js';
export type { ConfigIssue, ConfigIssueCode } from './errors.js';
export { ConfigError, formatIssue } from './errors.js';
export { loadConfig, parseConfig } from './load.js';
export { formatHostPort, parseHostPort } from './host-port.js';
export type { AnyKeySpec, KeySpec, SectionSchema, SectionType, SectionTypeName } from './schema.js';
export { CLUSTER_SCHEMA, GENERAL_SCHEMA, LISTENER_SCHEMA, SECTION_TYPES, SERVER_SCHEMA, USER_SCHEMA } from './schema.js';
export type { ParseResult, ValueKind } from './values.js';

/** A path from proxy.conf: relative ones are taken from the folder of the file they were read from. */
export { chosenConfigFile, resolveConfigPath } from './paths.js';
