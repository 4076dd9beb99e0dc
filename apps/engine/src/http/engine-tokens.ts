/** Injection tokens: the engine's collaborators are built by startEngine and handed to Nest as values. */
export const ENGINE_CONFIG = Symbol('ENGINE_CONFIG');
export const REMOVAL_JOBS = Symbol('REMOVAL_JOBS');
export const OUTPUT_STORE = Symbol('OUTPUT_STORE');
export const SEGMENTER = Symbol('SEGMENTER');
