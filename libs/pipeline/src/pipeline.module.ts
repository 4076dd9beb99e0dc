import { Module } from '@nestjs/common';
import { ResultReconciler } from './result-reconciler.service.js';

@Module({ providers: [ResultReconciler], exports: [ResultReconciler] })
export class PipelineModule {}
