/** GET /outputs/{id}/{n}.png (the engine serves its own output links) and GET /health (readiness). */
import { Controller, Get, Header, Inject, Param, Res, StreamableFile } from '@nestjs/common';
import type { Response } from 'express';
import type { EngineConfig } from '../engine.config.js';
import type { RemovalJobsService } from '../jobs/removal-jobs.service.js';
import type { Segmenter } from '../model/segmenter.js';
import type { OutputStore } from '../outputs/output-store.js';
import { EngineHttpError } from './engine-errors.js';
import { ENGINE_CONFIG, OUTPUT_STORE, REMOVAL_JOBS, SEGMENTER } from './engine-tokens.js';

@Controller()
export class OutputsController {
  constructor(
    @Inject(ENGINE_CONFIG) private readonly config: EngineConfig,
    @Inject(OUTPUT_STORE) private readonly outputs: OutputStore,
    @Inject(REMOVAL_JOBS) private readonly jobs: RemovalJobsService,
    @Inject(SEGMENTER) private readonly segmenter: Segmenter,
  ) {}

  @Get('outputs/:id/:file')
  @Header('content-type', 'image/png')
  async output(@Param('id') id: string, @Param('file') file: string): Promise<StreamableFile> {
    const m = /^(\d+)\.png$/.exec(file);
    const png = /^\d+$/.test(id) && m ? await this.outputs.get(id, Number(m[1])) : undefined;
    if (!png) throw new EngineHttpError(404, `No output ${id}/${file} (not finished, expired, or never existed)`);
    return new StreamableFile(png, { type: 'image/png', length: png.length });
  }

  @Get('health')
  health(@Res({ passthrough: true }) res: Response): Record<string, unknown> {
    const ready = this.segmenter.ready;
    res.status(ready ? 200 : 503);
    return {
      status: ready ? 'ok' : 'loading',
      model: `isnet-general-use (${this.config.model})`,
      threads: this.config.threads,
      concurrency: this.config.concurrency,
      queue: { pending: this.jobs.pending, limit: this.config.queueLimit },
      seconds_per_image: Number(this.jobs.measuredSecondsPerImage.toFixed(3)),
    };
  }
}
