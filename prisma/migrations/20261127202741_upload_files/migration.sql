-- AlterTable
ALTER TABLE "upload_files" ADD COLUMN     "tenant_id" UUID NOT NULL;
