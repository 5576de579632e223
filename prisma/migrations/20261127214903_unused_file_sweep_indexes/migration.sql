-- CreateIndex
CREATE INDEX "message_files_upload_file_id_idx" ON "message_files"("upload_file_id");

-- CreateIndex
CREATE INDEX "upload_files_created_at_idx" ON "upload_files"("created_at");
