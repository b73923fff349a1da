/**
 * The dev origin's bindings: the same secret names as the edge (README "Configuration"), so a
 * token minted by one side verifies on the other, plus `DEV_CONTROL_SECRET`, which only the tests
 * (and an operator at a terminal) hold: never the edge. Only secrets; there is no storage.
 */
export interface DevOriginEnv {
  EDGE_ORIGIN_JWT_SECRET: string;
  /** Accepted besides EDGE_ORIGIN_JWT_SECRET while it is rotated (docs/security.md). */
  EDGE_ORIGIN_JWT_SECRET_PREVIOUS?: string;
  /** Bearer secret of the test controls; without it every control answers 403. */
  DEV_CONTROL_SECRET?: string;
  OSEH_ID_TOKEN_SECRET: string;
  OSEH_JOURNEY_JWT_SECRET: string;
  OSEH_INTERACTIVE_PROMPT_JWT_SECRET: string;
  OSEH_IMAGE_FILE_JWT_SECRET: string;
  OSEH_CONTENT_FILE_JWT_SECRET: string;
  OSEH_TRANSCRIPT_JWT_SECRET: string;
}
