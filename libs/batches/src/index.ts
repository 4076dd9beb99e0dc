export * from './batch-completion.service.js';
export * from './batches.module.js';
export * from './batch.presenter.js';
