import { Module } from '@nestjs/common';
import { StorageModule } from '../../storage/src/index.js';
import { ModelslabFacadePresenter } from './modelslab-facade.presenter.js';
import { ResultReconciler } from './result-reconciler.service.js';

@Module({ imports: [StorageModule], providers: [ResultReconciler, ModelslabFacadePresenter], exports: [ResultReconciler, ModelslabFacadePresenter] })
export class PipelineModule {}
