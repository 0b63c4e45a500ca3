/**
 * What every benchmark server of ours raises: the limits that protect a real deployment (rate,
 * connections per address, user and process, a slow consumer's buffer) would otherwise measure
 * themselves instead of delivery, with one address, few users and a publisher at full speed.
 */
import type { ServerConfig } from '../../server/index.js';

export const benchLimits = {
  logLevel: 'silent',
  rateLimitPerSecond: 1_000_000,
  rateLimitBurst: 1_000_000,
  maxConnectionsPerAddress: 1_000_000,
  maxConnectionsPerUser: 1_000_000,
  maxConnections: 1_000_000,
  maxBufferedBytes: 64 * 1024 * 1024,
} satisfies Partial<ServerConfig>;

export const benchAuthSecret = 'bench-secret-0123456789abcdef';
