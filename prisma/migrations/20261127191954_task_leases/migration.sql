-- AlterTable
ALTER TABLE "workflow_runs" ADD COLUMN     "checkpoint" JSONB;

-- CreateTable
CREATE TABLE "appgraph_instances" (
    "id" UUID NOT NULL,
    "started_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "heartbeat_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "appgraph_instances_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "appgraph_running_tasks" (
    "task_id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "app_id" UUID NOT NULL,
    "end_user_id" UUID NOT NULL,
    "message_id" UUID,
    "workflow_run_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "appgraph_running_tasks_pkey" PRIMARY KEY ("task_id")
);

-- CreateIndex
CREATE INDEX "appgraph_instances_heartbeat_at_idx" ON "appgraph_instances"("heartbeat_at");

-- CreateIndex
CREATE INDEX "appgraph_running_tasks_instance_id_idx" ON "appgraph_running_tasks"("instance_id");
