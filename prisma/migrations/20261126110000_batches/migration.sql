-- CreateEnum
CREATE TYPE "BatchState" AS ENUM ('running', 'completed', 'canceled');

-- AlterTable
ALTER TABLE "jobs" ADD COLUMN     "batch_id" UUID,
ADD COLUMN     "batch_seq" INTEGER,
ADD COLUMN     "external_id" TEXT,
ADD COLUMN     "released_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "batches" (
    "id" UUID NOT NULL,
    "tenant_id" TEXT NOT NULL,
    "idempotency_key" TEXT,
    "state" "BatchState" NOT NULL DEFAULT 'running',
    "total_items" INTEGER NOT NULL,
    "rejected_total" INTEGER NOT NULL DEFAULT 0,
    "rejected" JSONB NOT NULL DEFAULT '[]',
    "options" JSONB NOT NULL DEFAULT '{}',
    "callback_url" TEXT,
    "metadata" JSONB,
    "format" TEXT NOT NULL,
    "run_no" INTEGER NOT NULL DEFAULT 0,
    "released_seq" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "canceled_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "batches_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "batches_tenant_id_created_at_id_idx" ON "batches"("tenant_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "batches_state_idx" ON "batches"("state");

-- CreateIndex
CREATE UNIQUE INDEX "batches_tenant_id_idempotency_key_key" ON "batches"("tenant_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "jobs_batch_id_state_released_at_idx" ON "jobs"("batch_id", "state", "released_at");

-- CreateIndex
CREATE INDEX "jobs_batch_id_completed_at_idx" ON "jobs"("batch_id", "completed_at");

-- CreateIndex
CREATE INDEX "jobs_tenant_id_external_id_idx" ON "jobs"("tenant_id", "external_id");

-- CreateIndex
CREATE UNIQUE INDEX "jobs_batch_id_batch_seq_key" ON "jobs"("batch_id", "batch_seq");
