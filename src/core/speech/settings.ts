// The app's text_to_speech feature as the DSL writes it ({enabled, voice, language, autoPlay}), read once.
export type SpeechSettings = {
  enabled: boolean;
  voice: string | undefined;
  language: string | undefined;
  /** Speak answers while they stream (Dify's autoPlay "enabled"). */
  autoPlay: boolean;
};

const text = (value: unknown) => (typeof value === "string" && value.trim() !== "" ? value : undefined);

export function speechSettings(feature: unknown): SpeechSettings {
  const f = (feature && typeof feature === "object" ? feature : {}) as Record<string, unknown>;
  const enabled = f.enabled === true;
  return { enabled, voice: text(f.voice), language: text(f.language), autoPlay: enabled && f.autoPlay === "enabled" };
}
