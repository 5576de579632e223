// The domain events of a chat, agent-chat or completion generation, in the order a task emits them.
// REST renders them as Dify's SSE objects; GraphQL as a union. Each carries its envelope.
import type { Usage } from "../ports/model.js";
import type { MessageFileRecord } from "../messages/message-files.js";

export type GenerationEnvelope = {
  taskId: string;
  messageId: string;
  /** null for completion apps, whose conversation is hidden. */
  conversationId: string | null;
  /** The message's creation time. */
  createdAt: Date;
  mode: string;
};

export type AgentThought = {
  id: string;
  position: number;
  thought: string;
  observation: string;
  tool: string;
  toolInput: string;
};

export type GenerationEvent = GenerationEnvelope &
  (
    | { type: "message"; answer: string }
    | ({ type: "agent_thought" } & AgentThought)
    | { type: "message_replace"; answer: string; reason: string }
    | { type: "message_end"; usage: Usage; retrieverResources: unknown[]; files: MessageFileRecord[] }
    /** A piece of the spoken answer (base64 MP3), when the app auto-plays speech; in order. */
    | { type: "tts_message"; audio: string }
    /** The spoken answer is complete (audio ""); after message_end, as Dify sends it. */
    | { type: "tts_message_end"; audio: string }
    | { type: "error"; code: string; message: string; status: number }
  );
