import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';
import { PipelineMetrics } from '../../../../libs/metrics/src/index.js';

/** Prometheus text format: this replica's counters and the cluster-wide gauges (ClusterStateCollector). */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: PipelineMetrics) {}

  @Get()
  async scrape(@Res() res: Response): Promise<void> {
    const { contentType, body } = await this.metrics.exposition();
    res.setHeader('Content-Type', contentType);
    res.setHeader('Cache-Control', 'no-store');
    res.status(200).send(body);
  }
}
