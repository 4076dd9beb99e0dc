-- CreateIndex
CREATE INDEX "jobs_tenant_id_completed_at_idx" ON "jobs"("tenant_id", "completed_at" DESC);
