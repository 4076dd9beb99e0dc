export * from './provider-errors.js';
export * from './provider-answer.js';
export * from './modelslab.client.js';
export * from './provider.module.js';
export * from './provider-clients.js';
