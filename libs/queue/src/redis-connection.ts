import { Redis } from 'ioredis';
import { createLogger } from '../../config/src/index.js';

const log = createLogger('redis');

/**
 * ioredis connections for BullMQ. Workers and blocking connections need `maxRetriesPerRequest: null`;
 * producers in the API fail fast instead of hanging a request while Redis is away.
 */
export function createRedis(url: string, role: 'worker' | 'producer' | 'subscriber', name: string): Redis {
  const redis = new Redis(url, {
    connectionName: `maskflow:${name}:${role}`,
    maxRetriesPerRequest: role === 'producer' ? 3 : null,
    enableReadyCheck: true,
    lazyConnect: false,
  });
  // ioredis reconnects by itself; a connection error is logged (once per outage), not left unhandled.
  let down = false;
  redis.on('error', (err: Error) => {
    if (!down) log.warn({ err: err.message, connection: name, role }, 'redis connection error; reconnecting');
    down = true;
  });
  redis.on('ready', () => (down = false));
  return redis;
}
