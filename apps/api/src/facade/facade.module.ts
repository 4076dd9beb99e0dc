import { Module } from '@nestjs/common';
import { PipelineModule } from '../../../../libs/pipeline/src/index.js';
import { JobsModule } from '../jobs/jobs.module.js';
import { ModelslabFacadeController } from './modelslab-facade.controller.js';

/** The ModelsLab-compatible facade (`/api/v6/image_editing/...`). */
@Module({ imports: [JobsModule, PipelineModule], controllers: [ModelslabFacadeController] })
export class FacadeModule {}
