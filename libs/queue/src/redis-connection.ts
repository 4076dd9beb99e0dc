import { Redis } from 'ioredis';

/**
 * ioredis connections for BullMQ. Workers and blocking connections need `maxRetriesPerRequest: null`;
 * producers in the API fail fast instead of hanging a request while Redis is away.
 */
export function createRedis(url: string, role: 'worker' | 'producer' | 'subscriber', name: string): Redis {
  return new Redis(url, {
    connectionName: `maskflow:${name}:${role}`,
    maxRetriesPerRequest: role === 'producer' ? 3 : null,
    enableReadyCheck: true,
    lazyConnect: false,
  });
}
