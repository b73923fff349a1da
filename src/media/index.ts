/** Media serving (docs/routes.md §Media): byte ranges, streamed bodies, the R2-backed store. */
export { planRangeResponse, parseRangeHeader, resolveRanges, MULTIPART_BOUNDARY, MAX_RANGES, type RangePlan, type BodyPart } from "./range";
export { createMediaStore, L1_MEDIA_MAX_BYTES, type MediaBody, type MediaFlights, type MediaStore, type MediaStoreOptions } from "./store";
export type { MediaPut, MediaPutResult } from "./put";
export { FILL_CLIENT_BUFFER_BYTES } from "./fill";
