export * from './pipeline-metrics.js';
export * from './metrics.module.js';
