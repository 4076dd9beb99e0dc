export * from './job-names.js';
export * from './job-states.js';
export * from './error-codes.js';
export * from './job-request.schema.js';
export * from './job-response.js';
export * from './webhook-events.js';
export * from './webhook-endpoint-request.schema.js';
export * from './modelslab-facade.js';
