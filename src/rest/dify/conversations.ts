// Dify's conversation object (behaviour.md 2.4).
import type { ConversationRecord } from "../../core/conversations/conversation.service.js";
import { unixSeconds } from "../../core/time.js";

export const conversationJson = (c: ConversationRecord) => ({
  id: c.id,
  name: c.name,
  inputs: c.inputs,
  status: c.status,
  introduction: c.introduction,
  created_at: unixSeconds(c.createdAt),
  updated_at: unixSeconds(c.updatedAt),
});
