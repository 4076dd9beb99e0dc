import { Module } from '@nestjs/common';
import { ClusterStateCollector } from './cluster-state.collector.js';
import { MetricsController } from './metrics.controller.js';

/** GET /metrics on the api. PipelineMetrics itself comes from the global MetricsModule. */
@Module({ controllers: [MetricsController], providers: [ClusterStateCollector] })
export class ApiMetricsModule {}
