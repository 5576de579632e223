// The app imported on the first start of an empty embedded database, so `npm start` alone gives
// something to talk to.
export const DEMO_APP_DSL = `app:
  name: appgraph demo chat
  mode: chat
  description: A small chat app to try appgraph with. It answers through the configured model.
  icon: "\u{1F916}"
  icon_type: emoji
  icon_background: "#E0F2FE"
  use_icon_as_answer_icon: false
kind: app
version: 0.6.0
dependencies: []
model_config:
  model:
    provider: openai
    name: gpt-4o-mini
    mode: chat
    completion_params:
      temperature: 0.7
  pre_prompt: "You are a helpful assistant. The user's name is {{name}}."
  prompt_type: simple
  opening_statement: "Hello! Ask me anything."
  suggested_questions:
    - What can you do?
    - Tell me a short joke.
  suggested_questions_after_answer:
    enabled: false
  more_like_this:
    enabled: false
  speech_to_text:
    enabled: false
  text_to_speech:
    enabled: false
  retriever_resource:
    enabled: false
  sensitive_word_avoidance:
    enabled: false
    type: ""
    configs: []
  agent_mode:
    enabled: false
    tools: []
  user_input_form:
    - text-input:
        variable: name
        label: Your name
        required: false
        max_length: 48
        default: ""
`;
