// Dify's message objects: the chat history item and the saved-message item (behaviour.md 2.4, 2.5).
import type { AgentThoughtRecord, MessageFileRecord, MessageRecord } from "../../core/messages/message.service.js";
import { unixSeconds } from "../../core/time.js";

export const messageFileJson = (f: MessageFileRecord) => ({
  id: f.id,
  filename: f.filename,
  type: f.type,
  url: f.url,
  mime_type: f.mimeType,
  size: f.size,
  transfer_method: f.transferMethod,
  belongs_to: f.belongsTo,
  upload_file_id: f.uploadFileId,
});

/** A file as message_end lists it (Dify's prepare_file_dict). */
export const messageEndFileJson = (f: MessageFileRecord) => {
  const filename = f.filename ?? "file";
  const dot = filename.lastIndexOf(".");
  return {
    related_id: f.id,
    extension: dot > 0 ? filename.slice(dot) : "",
    filename,
    size: f.size ?? 0,
    mime_type: f.mimeType ?? "application/octet-stream",
    transfer_method: f.transferMethod,
    type: f.type,
    url: f.url ?? "",
    upload_file_id: f.uploadFileId ?? f.id,
    remote_url: f.remoteUrl ?? "",
  };
};

const agentThoughtJson = (t: AgentThoughtRecord) => ({
  id: t.id,
  chain_id: null,
  message_id: t.messageId,
  position: t.position,
  thought: t.thought,
  tool: t.tool,
  tool_labels: t.toolLabels,
  tool_input: t.toolInput,
  created_at: unixSeconds(t.createdAt),
  observation: t.observation,
  files: t.files,
});

/** GET /messages items (and the message a stream ends with). */
export const messageJson = (m: MessageRecord) => ({
  id: m.id,
  conversation_id: m.conversationId,
  parent_message_id: m.parentMessageId,
  inputs: m.inputs,
  query: m.query,
  answer: m.answer,
  message_files: m.files.map(messageFileJson),
  feedback: m.feedback,
  retriever_resources: m.retrieverResources,
  created_at: unixSeconds(m.createdAt),
  agent_thoughts: m.agentThoughts.map(agentThoughtJson),
  status: m.status,
  error: m.error,
  extra_contents: [],
  metadata: m.metadata,
});

/** GET /saved-messages items. */
export const savedMessageJson = (m: MessageRecord) => ({
  id: m.id,
  inputs: m.inputs,
  query: m.query,
  answer: m.answer,
  message_files: m.files.map(messageFileJson),
  feedback: m.feedback,
  created_at: unixSeconds(m.createdAt),
});
