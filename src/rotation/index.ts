/** KEK rotation: the engine behind `mlflow-secrets crypto rotate-kek`, usable from code. */
export {
  DEFAULT_BATCH_SIZE,
  KekRotationError,
  MAX_BATCH_SIZE,
  rotateKek,
  type RotateKekOptions,
  type RotateKekResult,
  type RotationFailure,
  type RotationMode,
  type RotationProgress,
} from "./engine.js";
