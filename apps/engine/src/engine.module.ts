/** The engine's Nest module: two controllers over collaborators built (and closed) by startEngine. */
import { Module, type DynamicModule } from '@nestjs/common';
import type { EngineConfig } from './engine.config.js';
import { ENGINE_CONFIG, OUTPUT_STORE, REMOVAL_JOBS, SEGMENTER } from './http/engine-tokens.js';
import { OutputsController } from './http/outputs.controller.js';
import { RemoveBgController } from './http/removebg.controller.js';
import type { RemovalJobsService } from './jobs/removal-jobs.service.js';
import type { Segmenter } from './model/segmenter.js';
import type { OutputStore } from './outputs/output-store.js';

export interface EngineDeps {
  config: EngineConfig;
  jobs: RemovalJobsService;
  outputs: OutputStore;
  segmenter: Segmenter;
}

@Module({})
export class EngineModule {
  static forRoot(deps: EngineDeps): DynamicModule {
    return {
      module: EngineModule,
      controllers: [RemoveBgController, OutputsController],
      providers: [
        { provide: ENGINE_CONFIG, useValue: deps.config },
        { provide: REMOVAL_JOBS, useValue: deps.jobs },
        { provide: OUTPUT_STORE, useValue: deps.outputs },
        { provide: SEGMENTER, useValue: deps.segmenter },
      ],
    };
  }
}
