/**
 * Provider slots in Redis, shared by every worker process: one Lua script takes a slot only if both the
 * global limit (PROVIDER_MAX_IN_FLIGHT) and the tenant's share (TENANT_MAX_SHARE / TENANT_MAX_IN_FLIGHT)
 * have room, atomically, so a busy tenant waits while other tenants still get slots.
 *
 * A slot is a lease (member = our job id, score = expiry) renewed while the job holds it, so a worker that
 * dies cannot leak slots: its leases lapse after LEASE_MS. The same job taking its slot again (a resumed
 * wait after a hand-back) renews its lease instead of counting twice. Jobs of a tenant at its share park in
 * BullMQ's delayed set and in the tenant's waiting set; releasing a slot promotes the tenant's oldest one.
 * Every key carries the queue prefix's hash tag, so the script's keys share one Redis Cluster slot.
 */
import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, createLogger, type AppConfig } from '../../config/src/index.js';
import { JobName } from '../../contracts/src/index.js';
import { QueueService } from './queue.service.js';

const log = createLogger('queue.slots');

/** Where a freed provider slot is announced (pub/sub; the message is the job id that held it). */
export const slotFreedChannel = (prefix: string): string => `${prefix}:provider-slots:freed`;

export const SLOT_LEASE_MS = 30_000;

const ACQUIRE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local epoch = redis.call('GET', KEYS[4])
if not epoch then
  if ARGV[6] == '1' then epoch = now + tonumber(ARGV[7]) else epoch = 0 end
  redis.call('SET', KEYS[4], epoch)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
  redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], lease * 2)
  return 1
end
if tonumber(epoch) > now then return -1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return -2 end
redis.call('ZADD', KEYS[1], now + lease, ARGV[1])
redis.call('ZADD', KEYS[2], now + lease, ARGV[1])
redis.call('PEXPIRE', KEYS[2], lease * 2)
redis.call('ZREM', KEYS[3], ARGV[5])
return 1`;

const RENEW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local a = redis.call('ZADD', KEYS[1], 'XX', 'CH', now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZADD', KEYS[2], 'XX', now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return a`;

const RECLAIM = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[2]) * 2)
return 1`;

const RELEASE = `
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
local next = redis.call('ZPOPMIN', KEYS[3])
if removed == 1 then redis.call('PUBLISH', ARGV[2], ARGV[1]) end
return next[1] or false`;

/**
 * How many jobs past the plan's concurrency are active, waiting for a slot: when one frees, the next
 * submit needs no queue round trip and no database read first. Capped so that a large plan does not hold
 * hundreds of jobs away from other workers.
 */
export function providerPrefetch(maxInFlight: number): number {
  return Math.min(maxInFlight, 8);
}

const SCRIPT_NAMES = new Map([
  [ACQUIRE, 'maskflowSlotAcquire'],
  [RENEW, 'maskflowSlotRenew'],
  [RECLAIM, 'maskflowSlotReclaim'],
  [RELEASE, 'maskflowSlotRelease'],
]);

export type SlotAnswer = 'acquired' | 'global_full' | 'tenant_full';

@Injectable()
export class ProviderSlots {
  /** How long a slot stays held without renewal (a dead worker's slots come back after this): WORKER_LOCK_MS. */
  leaseMs: number;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly queues: QueueService,
  ) {
    this.leaseMs = config.workerLockMs ?? SLOT_LEASE_MS;
    // Redis came back (maybe empty: restarted without persistence): put back every slot this process holds.
    queues.connection.on('ready', () => void this.reclaimAll());
  }

  /** Slots this process holds (job id -> tenant), to put back after Redis lost them. */
  private readonly held = new Map<string, string>();
  /** Whether this process has seen the slot table: its marker missing afterwards means Redis lost its data. */
  private seenTable = false;

  /**
   * Runs a slot script by its SHA (ioredis custom commands: EVALSHA, and EVAL again when a restarted Redis
   * has lost its script cache), so the hand-off path does not send and hash the script text every time.
   */
  private script(lua: string, keys: number, ...args: (string | number)[]): Promise<unknown> {
    const name = SCRIPT_NAMES.get(lua)!;
    const conn = this.queues.connection as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>> & { defineCommand(n: string, d: { numberOfKeys: number; lua: string }): void };
    if (typeof conn[name] !== 'function') conn.defineCommand(name, { numberOfKeys: keys, lua });
    return conn[name]!(...args);
  }

  private keys(tenantId: string): [string, string, string] {
    const p = `${this.config.redis.prefix}:provider-slots`;
    const t = encodeURIComponent(tenantId);
    return [`${p}:global`, `${p}:tenant:${t}`, `${p}:waiting:${t}`];
  }

  private get tableKey(): string {
    return `${this.config.redis.prefix}:provider-slots:since`;
  }

  /**
   * Takes a slot for `jobId` (or renews the one it holds). `queueJobId` leaves the tenant's waiting set.
   * If Redis lost the slot table while jobs were in flight (a restart without persistence), no new slot is
   * given out for a renewal period, so that every holder has put its slot back first (see reclaimAll()).
   */
  async acquire(tenantId: string, jobId: string, queueJobId: string): Promise<SlotAnswer> {
    const grace = Math.round(this.leaseMs / 3) + 1000;
    const r = (await this.script(ACQUIRE, 4, ...this.keys(tenantId), this.tableKey, jobId, this.leaseMs, this.config.provider.maxInFlight, this.config.access.tenantMaxInFlight, queueJobId, this.seenTable ? '1' : '0', grace)) as number;
    this.seenTable = true;
    if (r === 1) this.held.set(jobId, tenantId);
    return r === 1 ? 'acquired' : r === -1 ? 'global_full' : 'tenant_full';
  }

  /** Extends the lease; false when it had lapsed (the slot may have gone to another job). */
  async renew(tenantId: string, jobId: string): Promise<boolean> {
    return ((await this.script(RENEW, 2, ...this.keys(tenantId).slice(0, 2), jobId, this.leaseMs)) as number) === 1;
  }

  /**
   * Takes the slot back whatever the count: the job IS in flight at the provider (its lease lapsed while
   * this process was stalled, or Redis lost the table), so the table must say so.
   */
  async reclaim(tenantId: string, jobId: string): Promise<void> {
    await this.script(RECLAIM, 2, ...this.keys(tenantId).slice(0, 2), jobId, this.leaseMs);
  }

  private async reclaimAll(): Promise<void> {
    for (const [jobId, tenantId] of this.held) await this.reclaim(tenantId, jobId).catch(() => undefined);
  }

  /** Remembers a parked job of the tenant, to be promoted when one of the tenant's slots frees. */
  async park(tenantId: string, queueJobId: string): Promise<void> {
    await this.queues.connection.zadd(this.keys(tenantId)[2], Date.now(), queueJobId);
  }

  /**
   * Frees the slot (announced on the slot-freed channel, so a job waiting for one takes it at once); returns
   * the tenant's longest-parked queue job id, if any (the caller promotes it).
   */
  async release(tenantId: string, jobId: string): Promise<string | null> {
    this.held.delete(jobId);
    return (await this.script(RELEASE, 3, ...this.keys(tenantId), jobId, slotFreedChannel(this.config.redis.prefix))) as string | null;
  }

  /**
   * Frees the slot and promotes the tenant's longest-parked job, if it is still parked. Called by the worker
   * when its job is done with the provider, and by whoever records the result (the webhook receiver), so the
   * next job goes out without waiting for the holder to notice. Failures are logged: a lease lapses anyway.
   */
  async releaseAndPromote(tenantId: string, jobId: string): Promise<void> {
    for (let i = 0; i < 5; i++) {
      const next = await this.release(tenantId, jobId).catch((err: unknown) => {
        log.warn({ err, jobId }, 'could not release the provider slot; its lease lapses on its own');
        return null;
      });
      if (!next) return;
      const parked = await this.queues.queue(JobName.SubmitToProvider).getJob(next);
      const promoted = await parked?.promote().then(
        () => true,
        () => false, // no longer delayed (woke on its own, or gone): try the next one
      );
      if (promoted) return;
    }
  }

  /** Slots held now: in total and by one tenant (expired leases not counted). */
  async inUse(tenantId?: string): Promise<number> {
    const [global, tenant] = this.keys(tenantId ?? '');
    return this.queues.connection.zcount(tenantId === undefined ? global : tenant, `(${Date.now()}`, '+inf');
  }
}
