import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DependencyChecks } from './dependency-checks.service.js';
import { HealthController } from './health.controller.js';

/** Liveness and readiness (terminus); failures are logged by the controller through pino, not Nest's logger. */
@Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [HealthController], providers: [DependencyChecks], exports: [DependencyChecks] })
export class HealthModule {}
