-- AlterTable
ALTER TABLE "workflow_runs" ADD COLUMN     "task_id" UUID;
