export * from './concurrency-limit.js';
