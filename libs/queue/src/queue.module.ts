import { Global, Module } from '@nestjs/common';
import { AttemptEvents } from './attempt-events.service.js';
import { QueueService } from './queue.service.js';

@Global()
@Module({ providers: [QueueService, AttemptEvents], exports: [QueueService, AttemptEvents] })
export class QueueModule {}
