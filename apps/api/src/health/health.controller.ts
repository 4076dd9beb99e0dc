import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { createLogger } from '../../../../libs/config/src/index.js';
import { ApiErrorCode } from '../../../../libs/contracts/src/index.js';
import { ApiError } from '../errors/api-error.js';
import { DependencyChecks } from './dependency-checks.service.js';

const log = createLogger('api.health');

/**
 * `/health/live`: the process answers (restart it when this fails). `/health/ready`: every dependency answers
 * (take the replica out of the load balancer while it fails): 200 `{status: 'ok', details}`, or 503
 * `not_ready` naming what is down, with every check's result in `details`.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly checks: DependencyChecks,
  ) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HttpCode(200)
  async ready(): Promise<{ status: 'ok'; details: HealthCheckResult['details'] }> {
    try {
      const result = await this.health.check(this.checks.all());
      return { status: 'ok', details: result.details };
    } catch (err) {
      if (!(err instanceof ServiceUnavailableException)) throw err;
      const result = err.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      log.warn({ down, details: result.details }, 'not ready');
      throw new ApiError(503, ApiErrorCode.NotReady, down.length > 0 ? `not ready: ${down.join(', ')} down` : 'not ready: shutting down', result.details);
    }
  }
}
