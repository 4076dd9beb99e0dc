import { Controller, Get, HttpCode } from '@nestjs/common';

/** Liveness for orchestrators (readiness with dependency checks comes with the operability work). */
@Controller('health')
export class HealthController {
  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
