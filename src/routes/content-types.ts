/** The backend's Content-Type values, byte for byte. */
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
/** `M3UResponse` of the m3u8 routes (A #7, #9). */
export const M3U_CONTENT_TYPE = "application/x-mpegURL";
