export * from './object-storage.service.js';
export * from './storage.module.js';
