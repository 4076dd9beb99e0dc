/**
 * The accept-time SSRF check of every user-supplied URL (image_url, callback_url, webhook endpoint urls,
 * batch rows, facade requests): literal private addresses in any spelling and host names that resolve to
 * one are refused with 422 `url_not_allowed`. The send-time check (libs/net guardedFetch) still applies:
 * DNS can change between now and then.
 */
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../../../../libs/config/src/index.js';
import { ApiErrorCode, type FieldIssue } from '../../../../libs/contracts/src/index.js';
import { defaultPort, findUrlBlock, OutboundBlockedError, OutboundPolicy } from '../../../../libs/net/src/index.js';
import { ApiError } from '../errors/api-error.js';

/**
 * Per-request memo of host checks (a batch of 10,000 rows on one CDN resolves the host once). Past
 * MAX_RESOLVED_HOSTS distinct hosts a request gets the literal checks only, so a batch of a million
 * distinct names cannot stall ingest on DNS; the send-time check still covers them.
 */
const MAX_RESOLVED_HOSTS = 1000;
export type HostCheckCache = Map<string, Promise<OutboundBlockedError | null>>;

@Injectable()
export class OutboundUrlChecker {
  readonly policy: OutboundPolicy;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.policy = new OutboundPolicy({ allowCidrs: config.outbound.allowCidrs, allowHosts: config.outbound.allowHosts });
  }

  /** The issue for `url` in `field`, or undefined when it may be used. */
  async issueFor(field: string, url: string | null | undefined, cache?: HostCheckCache): Promise<FieldIssue | undefined> {
    if (!url) return undefined;
    let key: string;
    try {
      const u = new URL(url);
      key = `${u.hostname}:${defaultPort(u)}`;
    } catch {
      return undefined; // the schema reports bad syntax
    }
    let pending = cache?.get(key);
    if (!pending) {
      pending = findUrlBlock(url, this.policy, { resolve: !cache || cache.size < MAX_RESOLVED_HOSTS });
      cache?.set(key, pending);
    }
    const block = await pending;
    if (cache && cache.size > MAX_RESOLVED_HOSTS) cache.delete(key); // keep the memo bounded too
    return block ? { field, code: ApiErrorCode.UrlNotAllowed, message: `${field}: ${block.message}` } : undefined;
  }

  /** Throws 422 url_not_allowed listing every refused field. */
  async assertAllowed(urls: Record<string, string | null | undefined>): Promise<void> {
    const issues = (await Promise.all(Object.entries(urls).map(([field, url]) => this.issueFor(field, url)))).filter((i): i is FieldIssue => i !== undefined);
    if (issues.length > 0) throw ApiError.fromIssues(issues);
  }
}

@Global()
@Module({ providers: [OutboundUrlChecker], exports: [OutboundUrlChecker] })
export class OutboundModule {}
