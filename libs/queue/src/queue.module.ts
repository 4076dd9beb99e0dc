import { Global, Module } from '@nestjs/common';
import { AttemptEvents } from './attempt-events.service.js';
import { ProviderSlots } from './provider-slots.service.js';
import { QueueService } from './queue.service.js';

@Global()
@Module({ providers: [QueueService, AttemptEvents, ProviderSlots], exports: [QueueService, AttemptEvents, ProviderSlots] })
export class QueueModule {}
