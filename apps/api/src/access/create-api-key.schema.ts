import { z } from 'zod';
import { TENANT_ID_RE } from '../../../../libs/db/src/index.js';

/** POST /v1/admin/api-keys and `maskflow keys create`. */
export const createApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    tenant: z.string().regex(TENANT_ID_RE, 'must be 1-63 characters: lowercase letters, digits, "-" or "_", starting with a letter or digit'),
    rate_limit: z.int().min(0).max(1_000_000_000).nullable().optional(),
  })
  .strict();
export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
