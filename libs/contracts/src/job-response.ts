import type { RemovebgOptions } from './job-request.schema.js';
import type { JobStateName } from './job-states.js';

/** The public representation of a job (GET /v1/jobs/:id, list items, 202 answers). */
export interface JobView {
  id: string;
  track_id: string;
  state: JobStateName;
  options: RemovebgOptions;
  image_url: string | null;
  callback_url: string | null;
  metadata: Record<string, unknown> | null;
  attempts: number;
  /** Where the latest attempt went: the configured provider, or `engine-fallback` after a fallback. */
  provider: string | null;
  outputs: OutputView[];
  error: { code: string; message: string } | null;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
}

export interface OutputView {
  url: string;
  sha256: string;
  bytes: number;
  content_type: string;
}
