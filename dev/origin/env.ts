/**
 * The dev origin's bindings: the same secret names as the edge (DESIGN §9), so a token minted by
 * one side verifies on the other. Only the secrets are used; there is no storage.
 */
export interface DevOriginEnv {
  EDGE_ORIGIN_JWT_SECRET: string;
  OSEH_ID_TOKEN_SECRET: string;
  OSEH_JOURNEY_JWT_SECRET: string;
  OSEH_INTERACTIVE_PROMPT_JWT_SECRET: string;
  OSEH_IMAGE_FILE_JWT_SECRET: string;
  OSEH_CONTENT_FILE_JWT_SECRET: string;
  OSEH_TRANSCRIPT_JWT_SECRET: string;
}
