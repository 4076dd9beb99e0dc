/** One accepted removebg_mask request, from acceptance until its outputs expire. */
import type { CutoutOptions } from '../cutout/cutout-options.js';

export type RemovalJobState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface RemovalJob {
  id: string;
  state: RemovalJobState;
  acceptedAt: number;
  startedAt?: number;
  finishedAt?: number;
  bytes: Buffer | undefined; // dropped once processed
  options: CutoutOptions;
  base64: boolean;
  webhook: string | null;
  trackId: number | null;
  meta: Record<string, unknown>;
  generationTime?: number;
  outputCount: number;
  error?: string;
  done: Promise<void>;
  resolveDone: () => void;
}
