import { Global, Module } from '@nestjs/common';
import { PipelineMetrics } from './pipeline-metrics.js';

/** One PipelineMetrics (and registry) per Nest app. */
@Global()
@Module({ providers: [PipelineMetrics], exports: [PipelineMetrics] })
export class MetricsModule {}
