export * from './db.module.js';
export * from './prisma.service.js';
export * from './job.repository.js';
export * from './webhook.repository.js';
export * from './consumer-events.js';
export * from './migrator.js';
export type { Job, JobAttempt, JobOutput } from './generated/client.js';
