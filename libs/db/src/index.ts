export * from './db.module.js';
export * from './prisma.service.js';
export * from './job.repository.js';
export * from './migrator.js';
export * from './api-key.repository.js';
export * from './api-key-secret.js';
export * from './facade-request.repository.js';
export type { Job, JobAttempt, JobOutput } from './generated/client.js';
