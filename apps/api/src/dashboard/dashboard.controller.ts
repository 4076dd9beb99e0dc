import { Controller, Get, Req, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { ApiKeyGuard, type AuthedRequest } from '../auth/api-key.guard.js';
import { DASHBOARD_HTML } from './dashboard-page.js';
import { DashboardService, type DashboardView } from './dashboard.service.js';

/**
 * GET /dashboard: one self-contained page (no build step, no framework, no third-party requests) that asks
 * for an API key once (or reads it from the URL fragment, `#key=...`, which never reaches the server) and
 * polls GET /v1/dashboard every two seconds.
 */
@Controller()
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get('dashboard')
  page(@Res() res: Response): void {
    res
      .status(200)
      .type('html')
      .set({
        'cache-control': 'no-store',
        'content-security-policy':
          "default-src 'none'; connect-src 'self'; img-src 'self' http: https: data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        'referrer-policy': 'no-referrer',
      })
      .send(DASHBOARD_HTML);
  }

  @Get('v1/dashboard')
  @UseGuards(ApiKeyGuard)
  view(@Req() req: AuthedRequest): Promise<DashboardView> {
    return this.dashboard.view(req.tenantId);
  }
}
