export * from './redis-connection.js';
export * from './queue.service.js';
export * from './attempt-events.service.js';
export * from './queue.module.js';
export * from './provider-slots.service.js';
