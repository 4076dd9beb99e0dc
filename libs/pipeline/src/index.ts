export * from './result-reconciler.service.js';
export * from './pipeline.module.js';
