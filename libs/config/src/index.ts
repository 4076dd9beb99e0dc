export * from './config.schema.js';
export * from './config.module.js';
export * from './logger.js';
export * from './log-context.js';
export * from './log-scrubber.js';
export * from './cli-client.config.js';
