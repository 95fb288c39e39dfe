// The validation modes an API may be set to (config `validation.ollama` / `validation.openai`): a file of its own so
// that the config schema names them without loading the validator (and Ajv).

/** `strict`: the whole schema; `basic`: top-level field types only; `off`: only what the gateway reads. */
export const validationModes = ['strict', 'basic', 'off'] as const
export type ValidationMode = (typeof validationModes)[number]
