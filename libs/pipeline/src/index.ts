export * from './result-reconciler.service.js';
export * from './pipeline.module.js';
export * from './modelslab-facade.presenter.js';
