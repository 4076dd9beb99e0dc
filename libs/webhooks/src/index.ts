export * from './webhook-secret.js';
export * from './sign-webhook.js';
export * from './verify-webhook.js';
export * from './retry-schedule.js';
export * from './send-webhook.js';
