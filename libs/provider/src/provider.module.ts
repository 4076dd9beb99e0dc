import { Module } from '@nestjs/common';
import { ProviderClients } from './provider-clients.js';

@Module({ providers: [ProviderClients], exports: [ProviderClients] })
export class ProviderModule {}
