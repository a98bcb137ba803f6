/** Providers offered as suggestions (any other name is accepted too): MLflow's gateway providers. */
export const PROVIDERS = [
  "openai",
  "anthropic",
  "azure",
  "bedrock",
  "gemini",
  "vertex_ai",
  "mistral",
  "cohere",
  "databricks",
  "togetherai",
] as const;
