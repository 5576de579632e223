-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "apps" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "mode" TEXT NOT NULL,
    "icon_type" TEXT,
    "icon" TEXT,
    "icon_background" TEXT,
    "status" TEXT NOT NULL DEFAULT 'normal',
    "enable_site" BOOLEAN NOT NULL DEFAULT true,
    "enable_api" BOOLEAN NOT NULL DEFAULT true,
    "max_active_requests" INTEGER,
    "use_icon_as_answer_icon" BOOLEAN NOT NULL DEFAULT false,
    "model_config" JSONB,
    "dsl_version" TEXT NOT NULL DEFAULT '0.6.0',
    "dependencies" JSONB NOT NULL DEFAULT '[]',
    "workflow_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "apps_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflows" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "graph" JSONB NOT NULL,
    "features" JSONB NOT NULL DEFAULT '{}',
    "environment_variables" JSONB NOT NULL DEFAULT '[]',
    "conversation_variables" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflows_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "sites" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "icon_type" TEXT,
    "icon" TEXT,
    "icon_background" TEXT,
    "description" TEXT,
    "default_language" TEXT NOT NULL DEFAULT 'en-US',
    "chat_color_theme" TEXT,
    "chat_color_theme_inverted" BOOLEAN NOT NULL DEFAULT false,
    "copyright" TEXT,
    "privacy_policy" TEXT,
    "custom_disclaimer" VARCHAR(512) NOT NULL DEFAULT '',
    "show_workflow_steps" BOOLEAN NOT NULL DEFAULT true,
    "use_icon_as_answer_icon" BOOLEAN NOT NULL DEFAULT false,
    "prompt_public" BOOLEAN NOT NULL DEFAULT false,
    "customize_token_strategy" TEXT NOT NULL DEFAULT 'not_allow',
    "status" TEXT NOT NULL DEFAULT 'normal',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sites_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "end_users" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "type" TEXT NOT NULL DEFAULT 'browser',
    "external_user_id" TEXT,
    "name" TEXT,
    "is_anonymous" BOOLEAN NOT NULL DEFAULT true,
    "session_id" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "end_users_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "accounts" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "password" TEXT,
    "password_salt" TEXT,
    "status" TEXT NOT NULL DEFAULT 'active',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account_sessions" (
    "id" TEXT NOT NULL,
    "account_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "account_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "conversations" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "mode" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "summary" TEXT,
    "inputs" JSONB NOT NULL DEFAULT '{}',
    "introduction" TEXT,
    "status" TEXT NOT NULL DEFAULT 'normal',
    "invoke_from" TEXT DEFAULT 'web-app',
    "from_source" TEXT NOT NULL DEFAULT 'api',
    "from_end_user_id" UUID,
    "model_provider" TEXT,
    "model_id" TEXT,
    "dialogue_count" INTEGER NOT NULL DEFAULT 0,
    "is_deleted" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "conversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "messages" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "parent_message_id" UUID,
    "inputs" JSONB NOT NULL DEFAULT '{}',
    "query" TEXT NOT NULL,
    "message" JSONB NOT NULL DEFAULT '[]',
    "answer" TEXT NOT NULL DEFAULT '',
    "message_tokens" INTEGER NOT NULL DEFAULT 0,
    "answer_tokens" INTEGER NOT NULL DEFAULT 0,
    "total_price" DECIMAL(10,7),
    "currency" TEXT NOT NULL DEFAULT 'USD',
    "provider_response_latency" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "status" TEXT NOT NULL DEFAULT 'normal',
    "error" TEXT,
    "message_metadata" JSONB NOT NULL DEFAULT '{}',
    "invoke_from" TEXT DEFAULT 'web-app',
    "from_source" TEXT NOT NULL DEFAULT 'api',
    "from_end_user_id" UUID,
    "agent_based" BOOLEAN NOT NULL DEFAULT false,
    "workflow_run_id" UUID,
    "app_mode" TEXT,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_feedbacks" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "rating" TEXT NOT NULL,
    "content" TEXT,
    "from_source" TEXT NOT NULL DEFAULT 'user',
    "from_end_user_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_feedbacks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_files" (
    "id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "transfer_method" TEXT NOT NULL,
    "belongs_to" TEXT NOT NULL DEFAULT 'user',
    "url" TEXT,
    "upload_file_id" UUID,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_files_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_agent_thoughts" (
    "id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "thought" TEXT,
    "tool" TEXT,
    "tool_labels" JSONB NOT NULL DEFAULT '{}',
    "tool_input" TEXT,
    "observation" TEXT,
    "message_files" JSONB NOT NULL DEFAULT '[]',
    "tokens" INTEGER NOT NULL DEFAULT 0,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "message_agent_thoughts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "saved_messages" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "message_id" UUID NOT NULL,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "saved_messages_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "pinned_conversations" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pinned_conversations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "upload_files" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "storage_type" TEXT NOT NULL DEFAULT 'local',
    "key" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "extension" TEXT NOT NULL,
    "mime_type" TEXT,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "used" BOOLEAN NOT NULL DEFAULT false,
    "used_by" UUID,
    "used_at" TIMESTAMPTZ(6),
    "hash" TEXT,
    "source_url" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "upload_files_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_runs" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "workflow_id" UUID NOT NULL,
    "type" TEXT NOT NULL,
    "triggered_from" TEXT NOT NULL DEFAULT 'app-run',
    "version" TEXT NOT NULL,
    "graph" JSONB NOT NULL,
    "inputs" JSONB NOT NULL DEFAULT '{}',
    "status" TEXT NOT NULL,
    "outputs" JSONB,
    "error" TEXT,
    "elapsed_time" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "total_tokens" INTEGER NOT NULL DEFAULT 0,
    "total_steps" INTEGER NOT NULL DEFAULT 0,
    "exceptions_count" INTEGER NOT NULL DEFAULT 0,
    "conversation_id" UUID,
    "message_id" UUID,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),

    CONSTRAINT "workflow_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_node_executions" (
    "id" UUID NOT NULL,
    "workflow_run_id" UUID NOT NULL,
    "triggered_from" TEXT NOT NULL DEFAULT 'workflow-run',
    "index" INTEGER NOT NULL,
    "predecessor_node_id" TEXT,
    "node_execution_id" TEXT,
    "node_id" TEXT NOT NULL,
    "node_type" TEXT NOT NULL,
    "title" TEXT NOT NULL,
    "inputs" JSONB,
    "process_data" JSONB,
    "outputs" JSONB,
    "status" TEXT NOT NULL,
    "error" TEXT,
    "elapsed_time" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "execution_metadata" JSONB,
    "created_by_role" TEXT NOT NULL DEFAULT 'end_user',
    "created_by" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(6),

    CONSTRAINT "workflow_node_executions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_pauses" (
    "id" UUID NOT NULL,
    "workflow_run_id" UUID NOT NULL,
    "state" JSONB NOT NULL,
    "reason" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resumed_at" TIMESTAMPTZ(6),

    CONSTRAINT "workflow_pauses_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "workflow_conversation_variables" (
    "id" UUID NOT NULL,
    "conversation_id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "data" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "workflow_conversation_variables_pkey" PRIMARY KEY ("id","conversation_id")
);

-- CreateTable
CREATE TABLE "human_input_forms" (
    "id" UUID NOT NULL,
    "app_id" UUID NOT NULL,
    "workflow_run_id" UUID NOT NULL,
    "form_kind" TEXT NOT NULL DEFAULT 'runtime',
    "node_id" TEXT NOT NULL,
    "form_definition" JSONB NOT NULL,
    "rendered_content" TEXT NOT NULL DEFAULT '',
    "status" TEXT NOT NULL DEFAULT 'waiting',
    "expiration_time" TIMESTAMPTZ(6) NOT NULL,
    "selected_action_id" TEXT,
    "submitted_data" JSONB,
    "submitted_at" TIMESTAMPTZ(6),
    "submission_end_user_id" UUID,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "human_input_forms_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "human_input_form_recipients" (
    "id" UUID NOT NULL,
    "form_id" UUID NOT NULL,
    "recipient_type" TEXT NOT NULL DEFAULT 'standalone_web_app',
    "access_token" TEXT NOT NULL,

    CONSTRAINT "human_input_form_recipients_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "apps_workflow_id_key" ON "apps"("workflow_id");

-- CreateIndex
CREATE INDEX "workflows_app_id_idx" ON "workflows"("app_id");

-- CreateIndex
CREATE UNIQUE INDEX "sites_app_id_key" ON "sites"("app_id");

-- CreateIndex
CREATE UNIQUE INDEX "sites_code_key" ON "sites"("code");

-- CreateIndex
CREATE INDEX "end_users_app_id_session_id_idx" ON "end_users"("app_id", "session_id");

-- CreateIndex
CREATE UNIQUE INDEX "accounts_email_key" ON "accounts"("email");

-- CreateIndex
CREATE INDEX "account_sessions_account_id_idx" ON "account_sessions"("account_id");

-- CreateIndex
CREATE INDEX "conversations_app_id_from_end_user_id_updated_at_idx" ON "conversations"("app_id", "from_end_user_id", "updated_at");

-- CreateIndex
CREATE INDEX "conversations_app_id_from_end_user_id_created_at_idx" ON "conversations"("app_id", "from_end_user_id", "created_at");

-- CreateIndex
CREATE INDEX "messages_conversation_id_created_at_idx" ON "messages"("conversation_id", "created_at");

-- CreateIndex
CREATE INDEX "messages_app_id_from_end_user_id_created_at_idx" ON "messages"("app_id", "from_end_user_id", "created_at");

-- CreateIndex
CREATE UNIQUE INDEX "message_feedbacks_message_id_from_end_user_id_key" ON "message_feedbacks"("message_id", "from_end_user_id");

-- CreateIndex
CREATE INDEX "message_files_message_id_idx" ON "message_files"("message_id");

-- CreateIndex
CREATE INDEX "message_agent_thoughts_message_id_position_idx" ON "message_agent_thoughts"("message_id", "position");

-- CreateIndex
CREATE UNIQUE INDEX "saved_messages_app_id_created_by_message_id_key" ON "saved_messages"("app_id", "created_by", "message_id");

-- CreateIndex
CREATE INDEX "pinned_conversations_app_id_created_by_idx" ON "pinned_conversations"("app_id", "created_by");

-- CreateIndex
CREATE UNIQUE INDEX "pinned_conversations_conversation_id_created_by_key" ON "pinned_conversations"("conversation_id", "created_by");

-- CreateIndex
CREATE INDEX "upload_files_app_id_created_by_idx" ON "upload_files"("app_id", "created_by");

-- CreateIndex
CREATE INDEX "workflow_runs_app_id_created_by_created_at_idx" ON "workflow_runs"("app_id", "created_by", "created_at");

-- CreateIndex
CREATE INDEX "workflow_node_executions_workflow_run_id_index_idx" ON "workflow_node_executions"("workflow_run_id", "index");

-- CreateIndex
CREATE INDEX "workflow_pauses_workflow_run_id_idx" ON "workflow_pauses"("workflow_run_id");

-- CreateIndex
CREATE INDEX "human_input_forms_workflow_run_id_idx" ON "human_input_forms"("workflow_run_id");

-- CreateIndex
CREATE UNIQUE INDEX "human_input_form_recipients_access_token_key" ON "human_input_form_recipients"("access_token");

-- AddForeignKey
ALTER TABLE "apps" ADD CONSTRAINT "apps_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflows" ADD CONSTRAINT "workflows_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "sites" ADD CONSTRAINT "sites_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "end_users" ADD CONSTRAINT "end_users_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account_sessions" ADD CONSTRAINT "account_sessions_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "conversations" ADD CONSTRAINT "conversations_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "messages" ADD CONSTRAINT "messages_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_feedbacks" ADD CONSTRAINT "message_feedbacks_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_files" ADD CONSTRAINT "message_files_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_agent_thoughts" ADD CONSTRAINT "message_agent_thoughts_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "saved_messages" ADD CONSTRAINT "saved_messages_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "messages"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "pinned_conversations" ADD CONSTRAINT "pinned_conversations_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "upload_files" ADD CONSTRAINT "upload_files_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_runs" ADD CONSTRAINT "workflow_runs_workflow_id_fkey" FOREIGN KEY ("workflow_id") REFERENCES "workflows"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_node_executions" ADD CONSTRAINT "workflow_node_executions_workflow_run_id_fkey" FOREIGN KEY ("workflow_run_id") REFERENCES "workflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_pauses" ADD CONSTRAINT "workflow_pauses_workflow_run_id_fkey" FOREIGN KEY ("workflow_run_id") REFERENCES "workflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "workflow_conversation_variables" ADD CONSTRAINT "workflow_conversation_variables_conversation_id_fkey" FOREIGN KEY ("conversation_id") REFERENCES "conversations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "human_input_forms" ADD CONSTRAINT "human_input_forms_app_id_fkey" FOREIGN KEY ("app_id") REFERENCES "apps"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "human_input_forms" ADD CONSTRAINT "human_input_forms_workflow_run_id_fkey" FOREIGN KEY ("workflow_run_id") REFERENCES "workflow_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "human_input_form_recipients" ADD CONSTRAINT "human_input_form_recipients_form_id_fkey" FOREIGN KEY ("form_id") REFERENCES "human_input_forms"("id") ON DELETE CASCADE ON UPDATE CASCADE;
