-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "JobState" AS ENUM ('queued', 'submitting', 'processing', 'storing', 'succeeded', 'failed', 'canceled');

-- CreateEnum
CREATE TYPE "AttemptState" AS ENUM ('submitting', 'processing', 'succeeded', 'failed', 'abandoned');

-- CreateTable
CREATE TABLE "jobs" (
    "id" UUID NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "track_id" TEXT NOT NULL,
    "idempotency_key" TEXT,
    "request_hash" TEXT,
    "state" "JobState" NOT NULL DEFAULT 'queued',
    "image_url" TEXT,
    "input_key" TEXT,
    "options" JSONB NOT NULL DEFAULT '{}',
    "callback_url" TEXT,
    "metadata" JSONB,
    "run_no" INTEGER NOT NULL DEFAULT 0,
    "attempt_count" INTEGER NOT NULL DEFAULT 0,
    "current_attempt_id" BIGINT,
    "error_code" TEXT,
    "error_message" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_attempts" (
    "id" BIGSERIAL NOT NULL,
    "job_id" UUID NOT NULL,
    "attempt_no" INTEGER NOT NULL,
    "provider" TEXT NOT NULL,
    "provider_request_id" TEXT,
    "webhook_token" TEXT NOT NULL,
    "state" "AttemptState" NOT NULL DEFAULT 'submitting',
    "outputs" JSONB,
    "error_code" TEXT,
    "error_message" TEXT,
    "eta_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),

    CONSTRAINT "job_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "job_outputs" (
    "job_id" UUID NOT NULL,
    "idx" INTEGER NOT NULL,
    "s3_key" TEXT NOT NULL,
    "sha256" TEXT NOT NULL,
    "bytes" BIGINT NOT NULL,
    "content_type" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "job_outputs_pkey" PRIMARY KEY ("job_id","idx")
);

-- CreateTable
CREATE TABLE "provider_events" (
    "id" BIGSERIAL NOT NULL,
    "source" TEXT NOT NULL,
    "attempt_id" BIGINT,
    "job_id" UUID,
    "provider_request_id" TEXT,
    "outcome" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "provider_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "jobs_tenant_id_created_at_id_idx" ON "jobs"("tenant_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "jobs_tenant_id_track_id_idx" ON "jobs"("tenant_id", "track_id");

-- CreateIndex
CREATE INDEX "jobs_state_idx" ON "jobs"("state");

-- CreateIndex
CREATE UNIQUE INDEX "jobs_tenant_id_idempotency_key_key" ON "jobs"("tenant_id", "idempotency_key");

-- CreateIndex
CREATE UNIQUE INDEX "job_attempts_job_id_attempt_no_key" ON "job_attempts"("job_id", "attempt_no");

-- CreateIndex
CREATE UNIQUE INDEX "job_attempts_provider_provider_request_id_key" ON "job_attempts"("provider", "provider_request_id");

-- CreateIndex
CREATE INDEX "provider_events_job_id_idx" ON "provider_events"("job_id");

-- CreateIndex
CREATE INDEX "provider_events_attempt_id_idx" ON "provider_events"("attempt_id");

-- AddForeignKey
ALTER TABLE "job_attempts" ADD CONSTRAINT "job_attempts_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "job_outputs" ADD CONSTRAINT "job_outputs_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE;
