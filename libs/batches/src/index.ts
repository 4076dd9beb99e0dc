export * from './batch-completion.service.js';
export * from './batches.module.js';
