/**
 * The key-family registry (docs/design.md §2): one entry per family of the backend's diskcache document
 * (the backend's `docs/diskcache/keys.md`, 63 families), with the facts from the backend's code (docs/families.md), which win where the
 * two disagree (see docs/families.md, "Drift from the seed").
 *
 * Catalog references in notes: "A #n" = docs/families.md (A #n), "B #n" = docs/families.md (B #n),
 * "blocks §n" = docs/block-format.md.
 */
import { CODECS } from "./codecs";
import type { AnonymousKeys, CodecName, Expiry, FamilyEntry, FamilyVariant, ParamSpec, Sensitivity } from "./types";

// --- expiry constants (seconds; each is the backend's own value, survey reference, docs/families.md §Sources) ---------

const ONE_MINUTE_SECONDS = 60; // A #1 image playlists
const TWO_MINUTES_SECONDS = 120; // A #17 profile pictures, renewed by each push
const UPDATER_LOCK_SECONDS = 310; // A #18
const TEN_MINUTES_SECONDS = 600; // A #19, B #4
const FIFTEEN_MINUTES_SECONDS = 900; // A #2–#9, #23 (keeps embedded 30-min JWTs fresh)
const PERSONALIZATION_BIASES_SECONDS = 1_020; // B #36: the Redis constant the local write uses
const THIRTY_MINUTES_SECONDS = 1_800; // B #28
const TOP_SHARERS_SECONDS = 7_200; // blocks §6
const EIGHT_HOURS_SECONDS = 28_800; // B #33, #34
const ONE_DAY_SECONDS = 86_400; // A #10, #11, #20–#22, B #2, #35
const TWO_DAYS_SECONDS = 172_800; // blocks §2.5 journeys, B #26
/** B #1: a new public prompt's Redis `expires_at` is now + 4 weeks. */
const PUBLIC_PROMPT_FALLBACK_SECONDS = 2_419_200;

const fixed = (seconds: number): Expiry => ({ kind: "fixed", seconds });
const random = (minSeconds: number, maxSeconds: number): Expiry => ({ kind: "random", minSeconds, maxSeconds });
const LA_MIDNIGHT: Expiry = { kind: "la-midnight" };
const NONE: Expiry = { kind: "none" };

// --- param constructors ---------------------------------------------------------------------

const uid = (name: string, prefix: string): ParamSpec => ({ name, kind: "uid", uidPrefix: prefix });
const unixDate = (name: string): ParamSpec => ({ name, kind: "unix-date" });
const enumOf = (name: string, values: readonly string[]): ParamSpec => ({ name, kind: "enum", values });
const pyBool = (name: string): ParamSpec => ({ name, kind: "bool-py", values: ["True", "False"] });
const text = (name: string, pattern: RegExp, maxLength: number): ParamSpec => ({ name, kind: "text", pattern, maxLength });

const SUB = uid("sub", "u"); // users.sub: `oseh_u_…` (docs/db/users.md)
/** Emotion words and sticky group names are free text from the backend; allow inner spaces. */
const WORD_PATTERN = /^[A-Za-z0-9_.-](?:[A-Za-z0-9 _.-]*[A-Za-z0-9_.-])?$/;
/** client_flows/routes/create.py: `^[a-z0-9_-]+$`, 1–255 (screens use the same convention). */
const SLUG_PATTERN = /^[a-z0-9_-]+$/;
const SLUG_MAX_LENGTH = 255;
/**
 * B #28 onboarding language: a primary subtag of letters, Java-style `_` subtags (`en_US`,
 * `zh_Hant_TW`, `es_419`), or the wildcard `*`; the empty string via `allowEmpty`.
 */
const LANGUAGE_PATTERN = /^(?:\*|[A-Za-z]{1,8}(?:_[A-Za-z0-9]{1,8}){0,3})$/;
const LANGUAGE_MAX_LENGTH = 35;

// --- entry constructors -----------------------------------------------------------------------

interface FamilyDefinition {
  name: string;
  params?: readonly ParamSpec[];
  codec: CodecName;
  expiry: Expiry;
  sensitivity: Sensitivity;
  route?: string | null;
  channel?: string | null;
  note: string;
  variants?: readonly FamilyVariant[];
  anonymousKeys?: AnonymousKeys;
  absenceCachedBy?: string;
}

function defineFamily(definition: FamilyDefinition): FamilyEntry {
  return Object.freeze({
    name: definition.name,
    params: Object.freeze([...(definition.params ?? [])]),
    codec: CODECS[definition.codec],
    expiry: Object.freeze(definition.expiry),
    sensitivity: definition.sensitivity,
    route: definition.route ?? null,
    channel: definition.channel ?? null,
    note: definition.note,
    ...(definition.variants !== undefined ? { variants: Object.freeze([...definition.variants]) } : {}),
    ...(definition.anonymousKeys !== undefined ? { anonymousKeys: Object.freeze(definition.anonymousKeys) } : {}),
    ...(definition.absenceCachedBy !== undefined ? { absenceCachedBy: definition.absenceCachedBy } : {}),
  });
}

// --- negative answers of anonymous keys (docs/routes.md "Negatives") ------------------------

const utf8 = new TextDecoder();

/**
 * `image_files/auth.py` `get_is_public`: `b"0"` for every uid not in `static_public_images`, made
 * up ones included (cached 600 s, per instance only).
 */
const IS_PUBLIC_NEGATIVE: AnonymousKeys = {
  isNegative: (bytes) => bytes.byteLength === 1 && bytes[0] === 0x30,
  source: "image_files/auth.py get_is_public",
};

/**
 * `image_files/routes/show_email_image.py` `_lookup_email_image_in_db`: `not_found` for a uid with
 * no `email_images` row, and `bad_ext` with `checked: false` for an extension it never serves — the
 * uid is not even looked up, so that answer says nothing about a real image. `bad_ext` with
 * `checked: true` (the image exists, no export in that format) and `found` are real answers.
 */
const EMAIL_LOOKUP_NEGATIVE: AnonymousKeys = {
  isNegative(bytes) {
    try {
      const doc: unknown = JSON.parse(utf8.decode(bytes));
      if (typeof doc !== "object" || doc === null) return false;
      const { type, checked } = doc as Record<string, unknown>;
      return type === "not_found" || (type === "bad_ext" && checked === false);
    } catch {
      return false;
    }
  },
  source: "image_files/routes/show_email_image.py _lookup_email_image_in_db",
};

/**
 * B §2.G and #5–#10: the date-window admin stats families share everything but their prefix,
 * route and F-DATE channel: `{prefix}:{start}:{end}` (end exclusive), gzip JSON, LA-EOD.
 */
function defineDailyStats(prefix: string, route: string, channel: string, note: string): FamilyEntry {
  return defineFamily({
    name: `${prefix}:{start}:{end}`,
    params: [unixDate("start"), unixDate("end")],
    codec: "gzip-json",
    expiry: LA_MIDNIGHT,
    sensitivity: "admin",
    route: `GET /api/1/admin/${route}`,
    channel,
    note,
  });
}

/** A #12–#15: admin charts keyed by today's LA date; intended expiry, not the backend's bug. */
function defineLaChart(name: string, params: readonly ParamSpec[], route: string, note: string): FamilyEntry {
  return defineFamily({
    name,
    params,
    codec: "json",
    expiry: LA_MIDNIGHT,
    sensitivity: "admin",
    route: `GET /api/1/admin/${route}`,
    note,
  });
}

// --- the registry, in seed order ------------------------------------------------------------

export const FAMILIES: readonly FamilyEntry[] = Object.freeze([
  defineFamily({
    name: "image_files:playlist:{uid}",
    params: [uid("uid", "if")],
    codec: "gzip-json",
    expiry: fixed(ONE_MINUTE_SECONDS),
    sensitivity: "resource",
    route: "GET /api/1/image_files/playlist/{uid}",
    note: "A #1: gzip (mtime 0) of compact JSON with unpresigned URLs; served with Content-Encoding: gzip",
  }),
  defineFamily({
    name: "image_files:exports:{uid}",
    params: [uid("uid", "ife")],
    codec: "json",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    note: "A #2: export metadata (holds S3 keys) for the image routes; never returned",
  }),
  defineFamily({
    name: "s3_files:{uid}",
    params: [uid("uid", "s3f")],
    codec: "bytes",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    note: "A #3: raw S3 object bytes (course zips, video parts); values over KV's 25 MiB are refused",
  }),
  defineFamily({
    name: "auth:is_admin:{sub}",
    params: [SUB],
    codec: "flag",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "user",
    note: "A #4: b'1'/b'0', negatives cached; read by the edge's admin auth (docs/design.md §6), never served",
    absenceCachedBy: "auth.py auth_admin (b'0' for 900 s)",
  }),
  defineFamily({
    name: "content_files:exports:parts:{uid}",
    params: [uid("uid", "cfep")],
    codec: "json",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    note: "A #5: export part metadata for the parts route; never returned",
  }),
  defineFamily({
    name: "content_files:playlists:web:{uid}",
    params: [uid("uid", "cf")],
    codec: "json",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    route: "GET /api/1/content_files/{uid}/web.json",
    note: "A #6: the whole web playlist response (not an Item), URLs unpresigned",
  }),
  defineFamily({
    name: "content_files:playlists:mobile:{uid}:{filters_stable_identifier}",
    params: [uid("uid", "cf"), { name: "filters_stable_identifier", kind: "filters" }],
    codec: "text",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    route: "GET /api/1/content_files/{uid}/{ios,android}.m3u8",
    note: "A #7: m3u8 master playlist, unpresigned; filters w=,h=,pr=,bmin=,bmax= with bmin defaulted to 90000",
  }),
  defineFamily({
    name: "content_files:vods:{uid}:meta",
    params: [uid("uid", "cfe")],
    codec: "json",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    route: "GET /api/1/content_files/exports/{uid}.m3u8",
    note: "A #8: maps a content_file_export uid to its content file for the JWT check",
  }),
  defineFamily({
    name: "content_files:vods:{uid}:m3u",
    params: [uid("uid", "cfe")],
    codec: "text",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "resource",
    route: "GET /api/1/content_files/exports/{uid}.m3u8",
    note: "A #9: m3u8 VOD media playlist, unpresigned",
  }),
  defineFamily({
    name: "journeys:{uid}:meta",
    params: [uid("uid", "j")],
    codec: "json",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "resource",
    note: "A #10: dead since e665c9b (replaced by interactive_prompts:{uid}:meta); historical channel ps:journeys:meta:purge",
  }),
  defineFamily({
    name: "entitlements:{user_sub}",
    params: [uid("user_sub", "u")],
    codec: "json",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "user",
    channel: "ps:entitlements:purge",
    note: "A #11: per-user billing state, collab; the channel purges entries checked before min_checked_at",
  }),
  defineLaChart(
    "daily_active_users:{unix_date}",
    [unixDate("unix_date")],
    "daily_active_users",
    "A #12: 182 daily points ending today (LA); expires at the next LA midnight, not the backend's mis-signed 08:00/10:00",
  ),
  defineLaChart(
    "new_users:{unix_date}",
    [unixDate("unix_date")],
    "new_users",
    "A #13: as #12 (same intended expiry, same backend bug not copied)",
  ),
  defineLaChart(
    "monthly_active_users:{unix_date}:{labelled_by}",
    [unixDate("unix_date"), enumOf("labelled_by", ["day", "month"])],
    "monthly_active_users/{labelled_by}",
    "A #14: labelled_by is a path Literal (day|month); a day miss also writes the month key",
  ),
  defineLaChart(
    "retention_stats:{unix_date}:{period}",
    [unixDate("unix_date"), enumOf("period", ["0day", "1day", "7day", "30day", "90day"])],
    "retention_stats/{period}",
    "A #15: period is a path Literal; same intended LA-midnight expiry as #12",
  ),
  defineFamily({
    name: "journey_subcategory_view_stats:{unix_date}",
    params: [unixDate("unix_date")],
    codec: "json",
    expiry: LA_MIDNIGHT,
    sensitivity: "admin",
    route: "GET /api/1/admin/journey_subcategory_view_stats",
    channel: "ps:journey_subcategory_view_stats",
    note: "A #16: push-fill (u32 unix date + JSON); the doc's shape is stale; past dates are not stored with negative TTLs",
  }),
  defineFamily({
    name: "journeys:external:{uid}",
    params: [uid("uid", "j")],
    codec: "blocks",
    expiry: fixed(TWO_DAYS_SECONDS),
    sensitivity: "resource",
    channel: "ps:journeys:external:push_cache",
    note: "blocks §2: block stream (types 1–5); served only by delegated render (docs/design.md §4.3), collab",
  }),
  defineFamily({
    name: "interactive_prompts:external:{uid}",
    params: [uid("uid", "ip")],
    codec: "blocks",
    expiry: random(ONE_DAY_SECONDS, TWO_DAYS_SECONDS - 1),
    sensitivity: "resource",
    channel: "ps:interactive_prompts:push_cache",
    note: "blocks §3: block stream (types 1–3); 86400 + randint [0, 86400) s; served only by delegated render",
  }),
  defineFamily({
    name: "interactive_prompts:profile_pictures:{uid}:{prompt_time}",
    params: [uid("uid", "ip"), { name: "prompt_time", kind: "int", multipleOf: 2 }],
    codec: "json",
    expiry: fixed(TWO_MINUTES_SECONDS),
    sensitivity: "resource",
    route: "POST /api/1/interactive_prompts/profile_pictures",
    channel: "ps:interactive_prompts:profile_pictures:push_cache",
    note: "A #17: prompt_time rounded down to even; holds other users' subs (internal), collab",
  }),
  defineFamily({
    name: "updater-lock-key",
    codec: "text",
    expiry: fixed(UPDATER_LOCK_SECONDS),
    sensitivity: "secret",
    note: "A #18: deploy plumbing (the token that holds updates:backend:lock); nothing for the edge to serve",
  }),
  defineFamily({
    name: "image_files:public:{uid}",
    params: [uid("uid", "if")],
    codec: "flag",
    expiry: fixed(TEN_MINUTES_SECONDS),
    sensitivity: "public",
    route: "GET /api/1/image_files/playlist/{uid}",
    note: "A #19: b'1'/b'0' is-public bit for ?public=true playlists; negatives cached",
    anonymousKeys: IS_PUBLIC_NEGATIVE,
    absenceCachedBy: "image_files/auth.py get_is_public (b'0' for 600 s)",
  }),
  defineFamily({
    name: "users:{sub}:created_at",
    params: [SUB],
    codec: "float",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "user",
    note: "A #20: the backend stores a native float; the edge stores its decimal text",
  }),
  defineFamily({
    name: "interactive_prompts:{uid}:meta",
    params: [uid("uid", "ip")],
    codec: "json",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "resource",
    channel: "ps:interactive_prompts:meta:push_cache",
    note: "A #21: internal prompt meta, collab; the backend never awaits its purge publish",
  }),
  defineFamily({
    name: "utm_conversion_stats:{unix_date}",
    params: [unixDate("unix_date")],
    codec: "json",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "admin",
    route: "GET /api/1/admin/utm_conversion_stats",
    note: "A #22: hand-streamed JSON; written only for past dates from the DB",
  }),
  defineFamily({
    name: "journey_feedback:{unix_date}",
    params: [unixDate("unix_date")],
    codec: "json",
    expiry: fixed(FIFTEEN_MINUTES_SECONDS),
    sensitivity: "admin",
    route: "GET /api/1/admin/journey_feedback",
    note: "A #23: user PII and embedded 30-min JWTs, hence 900 s",
  }),
  defineFamily({
    name: "interactive_prompts:special:{public_identifier}:info",
    params: [
      enumOf("public_identifier", ["onboarding-prompt-feeling", "onboarding-prompt-feeling-result", "notification-time"]),
    ],
    codec: "json",
    expiry: { kind: "absolute", fallbackSeconds: PUBLIC_PROMPT_FALLBACK_SECONDS },
    sensitivity: "public",
    note: "B #1: {uid, version}; expires at the Redis hash's absolute expires_at (new prompts: now + 28 d)",
  }),
  defineFamily({
    name: "daily_phone_verifications:{from}:{to}",
    params: [unixDate("from"), unixDate("to")],
    codec: "json",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "admin",
    route: "GET /api/1/admin/daily_phone_verifications",
    note: "B #2: both ends inclusive, uncompressed JSON, flat 24 h, no channel",
  }),
  defineFamily({
    name: "emotion_content_statistics",
    codec: "json",
    expiry: random(ONE_DAY_SECONDS, TWO_DAYS_SECONDS),
    sensitivity: "public",
    route: "POST /api/1/emotions/personalized",
    channel: "ps:emotion_content_statistics:push_cache",
    note: "B #3: {stats:[…]} (the doc says a list); random 1–2 d, collab",
  }),
  defineFamily({
    name: "emotion_users:pictures:{word}",
    params: [text("word", WORD_PATTERN, 64)],
    codec: "json",
    expiry: fixed(TEN_MINUTES_SECONDS),
    sensitivity: "resource",
    note: "B #4: ≤5 image_file uids of other users' profile pictures, collab without a channel",
  }),
  defineDailyStats(
    "daily_push_tokens",
    "notifs/daily_push_tokens",
    "ps:stats:push_tokens:daily",
    "B #5: gzip JSON, window [today−91, today)",
  ),
  defineDailyStats(
    "daily_push_tickets",
    "notifs/daily_push_tickets",
    "ps:stats:push_tickets:daily",
    "B #6: gzip JSON; the backend always sends max-age=60 (bug), the stored TTL is LA-EOD",
  ),
  defineDailyStats(
    "daily_push_receipts",
    "notifs/daily_push_receipts",
    "ps:stats:push_receipts:daily",
    "B #7: as #6",
  ),
  defineDailyStats("daily_sms_sends", "sms/daily_sms_sends", "ps:stats:sms_sends:daily", "B #8: gzip JSON, window [today−91, today−1)"),
  defineDailyStats("daily_sms_polling", "sms/daily_sms_polling", "ps:stats:sms_polling:daily", "B #9: as #8"),
  defineDailyStats("daily_sms_events", "sms/daily_sms_events", "ps:stats:sms_events:daily", "B #10: as #8"),
  defineDailyStats("daily_email_events", "email/daily_email_events", "ps:stats:email_events:daily", "B #11: generic stats route (§2.G)"),
  defineDailyStats("daily_email_send", "email/daily_email_send", "ps:stats:email_send:daily", "B #12: generic stats route (§2.G)"),
  defineDailyStats("daily_touch_send", "touch/daily_touch_send", "ps:stats:touch_send:daily", "B #13: generic stats route (§2.G)"),
  defineDailyStats("daily_touch_stale", "touch/daily_touch_stale", "ps:stats:touch_stale:daily", "B #14: generic stats route (§2.G)"),
  defineDailyStats(
    "daily_touch_links",
    "touch/daily_touch_link_stats",
    "ps:stats:touch_links:daily",
    "B #15: generic stats route (§2.G); route name differs from the key prefix",
  ),
  defineDailyStats(
    "daily_reminders",
    "daily_reminders/daily_reminders",
    "ps:stats:daily_reminders:daily",
    "B #16: generic stats route (§2.G), 3 partial days",
  ),
  defineDailyStats(
    "daily_reminder_registrations",
    "daily_reminders/daily_reminder_registrations",
    "ps:stats:daily_reminder_registrations:daily",
    "B #17: generic stats route (§2.G), 1 partial day",
  ),
  defineDailyStats(
    "daily_siwo_authorize",
    "siwo/siwo_authorize_stats",
    "ps:stats:sign_in_with_oseh:authorize:daily",
    "B #18: generic stats route (§2.G)",
  ),
  defineDailyStats(
    "daily_siwo_verify_email",
    "siwo/siwo_verify_email_stats",
    "ps:stats:sign_in_with_oseh:verify_email:daily",
    "B #19: generic stats route (§2.G)",
  ),
  defineDailyStats(
    "daily_siwo_exchange",
    "siwo/siwo_exchange_stats",
    "ps:stats:sign_in_with_oseh:exchange:daily",
    "B #20: generic stats route (§2.G)",
  ),
  defineFamily({
    name: "daily_contact_methods:{start}:{end}",
    params: [unixDate("start"), unixDate("end")],
    codec: "gzip-json",
    expiry: LA_MIDNIGHT,
    sensitivity: "admin",
    note: "B #21: documented but never implemented (no route, no writer); ps:stats:contact_methods:daily is doc-only",
  }),
  defineFamily({
    name: "transcripts:{uid}",
    params: [uid("uid", "t")],
    codec: "u64-json",
    expiry: NONE,
    sensitivity: "resource",
    route: "GET /api/1/transcripts/{uid}",
    channel: "ps:transcripts",
    note: "blocks §5: u64-BE length + compact JSON; no expiry in the backend (capped by COLLAB_MAX_SECONDS here)",
  }),
  defineFamily({
    name: "journey_share_links:top_sharers:{start}:{end}",
    params: [{ name: "start", kind: "unix-date", allowNone: true }, unixDate("end")],
    codec: "u64-gzip-json",
    expiry: fixed(TOP_SHARERS_SECONDS),
    sensitivity: "admin",
    route: "POST /api/1/admin/journey_share_links/top_sharers",
    channel: "ps:journey_share_links:top_sharers",
    note: "blocks §6: start may be the literal None; u64-BE length + gzip JSON (compare inflated, not gzip bytes)",
  }),
  defineDailyStats(
    "daily_journey_share_links",
    "journey_share_links/journey_share_link_stats",
    "ps:stats:journey_share_links:daily",
    "B #22: generic stats route (§2.G)",
  ),
  defineDailyStats(
    "daily_journey_share_links:unique_views",
    "journey_share_links/journey_share_link_unique_views",
    "ps:stats:journey_share_links:unique_views:daily",
    "B #23: generic stats route (§2.G); sparse breakdowns keyed by user sub",
  ),
  defineFamily({
    name: "revenue_cat:offerings:{revenue_cat_id}:{platform}",
    params: [
      // users/lib/revenue_cat.py makes `oseh_u_rc_…`; courses/routes/activate.py makes guest `oseh_g_rc_…`.
      { name: "revenue_cat_id", kind: "uid", uidPrefixes: ["u_rc", "g_rc"] },
      enumOf("platform", ["stripe", "playstore", "appstore"]),
    ],
    codec: "gzip-json",
    expiry: random(3_600 + 2, 3_600 + 10),
    sensitivity: "user",
    channel: "ps:revenue_cat:offerings",
    note: "B #24: gzip JSON of every environment's offerings; effectively per user; 3600 + randint(2,10) s, collab",
  }),
  defineFamily({
    name: "stripe:abridged_prices:{product_id}",
    params: [text("product_id", /^[A-Za-z0-9_-]+$/, 128)],
    codec: "gzip-json",
    expiry: random(3_600 + 2, 3_600 + 10),
    sensitivity: "public",
    channel: "ps:stripe:products:prices",
    note: "B #25: gzip JSON (the doc says plain JSON); public pricing; 3600 + randint(2,10) s, collab",
  }),
  defineFamily({
    name: "home_screen_images:{date_iso8601}:{has_pro}:{wrapped_only}",
    params: [{ name: "date_iso8601", kind: "iso-date" }, pyBool("has_pro"), pyBool("wrapped_only")],
    codec: "gzip-json",
    expiry: fixed(TWO_DAYS_SECONDS),
    sensitivity: "public",
    channel: "ps:home_screen_images:available",
    note: "B #26: Python True/False in the key; the date is in the request's tz; collab",
  }),
  defineFamily({
    name: "users:gender:{sub}",
    params: [SUB],
    codec: "json",
    expiry: random(3_600 + 1, 3_600 + 10),
    sensitivity: "user",
    channel: "ps:users:gender",
    note: "B #27: inferred gender plus the name/email sent to gender-api (PII); 3600 + randint(1,10) s, collab",
  }),
  defineFamily({
    name: "onboarding:welcome:{gender}:{language}",
    params: [
      enumOf("gender", ["male", "female", "nonbinary", "unknown", "None"]),
      // lib/shared/extract_language_code.py: the first comma-separated Accept-Language part, cut at
      // `;`, stripped, cut at `-` (never None; `en` only when the header is absent or exactly `*`).
      // So `*, en` keys `*`, `en_US` keys `en_US`, and an empty header keys the empty string; other
      // junk (spaces, symbols, long tokens) is not stored at the edge.
      { ...text("language", LANGUAGE_PATTERN, LANGUAGE_MAX_LENGTH), allowEmpty: true },
    ],
    codec: "gzip-json",
    expiry: fixed(THIRTY_MINUTES_SECONDS),
    sensitivity: "public",
    note: "B #28: the backend's only str key (same text); gzip JSON array; language is the raw first Accept-Language tag (may be *, en_US or empty)",
  }),
  defineDailyStats(
    "daily_client_flows",
    "client_flows/client_flow_stats",
    "ps:stats:client_flows:daily",
    "B #29: generic stats route (§2.G)",
  ),
  defineDailyStats(
    "daily_client_screens",
    "client_flows/client_screen_stats",
    "ps:stats:client_screens:daily",
    "B #30: generic stats route (§2.G)",
  ),
  defineFamily({
    name: "client_flows:{slug}",
    params: [text("slug", SLUG_PATTERN, SLUG_MAX_LENGTH), { name: "variant", kind: "enum", values: ["full"], optional: true }],
    variants: [{ pattern: "client_flows:{slug}:full", variant: "full" }],
    codec: "json",
    expiry: NONE,
    sensitivity: "admin",
    channel: "ps:client_flows",
    note: "B #31: minimal and :full (admin analysis) forms in one family; no TTL, purge-only, collab",
  }),
  defineFamily({
    name: "client_screens:{slug}",
    params: [text("slug", SLUG_PATTERN, SLUG_MAX_LENGTH)],
    codec: "json",
    expiry: NONE,
    sensitivity: "admin",
    channel: "ps:client_screens",
    note: "B #32: {uid, slug, schema, flags}; no TTL, purge-only (published by migrations), collab",
  }),
  defineFamily({
    name: "thumbhashes:{image_uid}:{width}x{height}",
    params: [
      uid("image_uid", "if"),
      { name: "width", kind: "int", min: 1, max: 100_000 },
      { name: "height", kind: "int", min: 1, max: 100_000 },
    ],
    codec: "text",
    expiry: fixed(EIGHT_HOURS_SECONDS),
    sensitivity: "public",
    note: "B #33: raw base64url thumbhash text; only the aspect ratio matters",
  }),
  defineFamily({
    name: "email_images:{uid}:{ext}",
    params: [uid("uid", "eim"), text("ext", /^[A-Za-z0-9]+$/, 16)],
    codec: "json",
    expiry: fixed(EIGHT_HOURS_SECONDS),
    sensitivity: "public",
    channel: "ps:email_images",
    note: "B #34: tagged union on type (unknown = purge marker); uid and ext whitelisted here (B §5.8), collab",
    anonymousKeys: EMAIL_LOOKUP_NEGATIVE,
    absenceCachedBy: "image_files/routes/show_email_image.py lookup_email_image (not_found for 8 h, local and Redis)",
  }),
  defineFamily({
    name: "sticky_random_group_number:{name}",
    params: [text("name", WORD_PATTERN, 255)],
    codec: "bytes32",
    expiry: fixed(ONE_DAY_SECONDS),
    sensitivity: "secret",
    channel: "ps:sticky_random_groups",
    note: "B #35: the 32-byte HMAC key of an A/B group; write-only (revealing it lets clients pick their arm)",
  }),
  defineFamily({
    name: "personalization:instructor_category_biases:{emotion}:{premium}",
    params: [text("emotion", WORD_PATTERN, 64), pyBool("premium")],
    codec: "json",
    expiry: fixed(PERSONALIZATION_BIASES_SECONDS),
    sensitivity: "admin",
    note: "B #36: JSON triple of lookup tables; 1020 s (the Redis constant the local write uses); emotion whitelisted",
  }),
]);
