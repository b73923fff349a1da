/**
 * Every Redis channel the relay subscribes to, the family it feeds and the decoder of its
 * framing. The channel names are the registry's (`src/keys`, each family's `channel`); a test
 * checks the two agree. docs/relay.md describes each framing.
 */
import { FAMILIES } from "../src/keys";
import type { Decoder } from "./actions";
import {
  decodeClientFlow,
  decodeClientScreen,
  decodeEmailImage,
  decodeGender,
  decodeHomeScreenImages,
  decodeOfferings,
  decodeStickyGroup,
  decodeStripePrices,
} from "./decode/binary";
import { dailyStatsDecoder, decodeSubcategoryViewStats, decodeTopSharers, decodeTranscript } from "./decode/dated";
import { decodeEmotionStats, decodeEntitlementsPurge, decodePromptMetaEvict } from "./decode/invalidate";
import { decodeJourneyPushCache, decodeProfilePicturesPushCache, decodePromptPushCache } from "./decode/push-cache";

export interface ChannelSpec {
  channel: string;
  /** The registry pattern of the family the channel fills or evicts. */
  family: string;
  decode: Decoder;
  /**
   * The backend tags this family `collab` and drops it at every restart, because a missed
   * message leaves it stale: the relay purges it after its own subscription was interrupted.
   * Fill-only families (stats, transcripts, top sharers) lose nothing but a fill.
   */
  collab: boolean;
}

const HAND_WRITTEN: readonly ChannelSpec[] = [
  { channel: "ps:journeys:external:push_cache", family: "journeys:external:{uid}", decode: decodeJourneyPushCache, collab: true },
  { channel: "ps:interactive_prompts:push_cache", family: "interactive_prompts:external:{uid}", decode: decodePromptPushCache, collab: true },
  {
    channel: "ps:interactive_prompts:profile_pictures:push_cache",
    family: "interactive_prompts:profile_pictures:{uid}:{prompt_time}",
    decode: decodeProfilePicturesPushCache,
    collab: true,
  },
  { channel: "ps:interactive_prompts:meta:push_cache", family: "interactive_prompts:{uid}:meta", decode: decodePromptMetaEvict, collab: true },
  { channel: "ps:entitlements:purge", family: "entitlements:{user_sub}", decode: decodeEntitlementsPurge, collab: true },
  { channel: "ps:emotion_content_statistics:push_cache", family: "emotion_content_statistics", decode: decodeEmotionStats, collab: true },
  { channel: "ps:revenue_cat:offerings", family: "revenue_cat:offerings:{revenue_cat_id}:{platform}", decode: decodeOfferings, collab: true },
  { channel: "ps:stripe:products:prices", family: "stripe:abridged_prices:{product_id}", decode: decodeStripePrices, collab: true },
  {
    channel: "ps:home_screen_images:available",
    family: "home_screen_images:{date_iso8601}:{has_pro}:{wrapped_only}",
    decode: decodeHomeScreenImages,
    collab: true,
  },
  { channel: "ps:users:gender", family: "users:gender:{sub}", decode: decodeGender, collab: true },
  { channel: "ps:client_flows", family: "client_flows:{slug}", decode: decodeClientFlow, collab: true },
  { channel: "ps:client_screens", family: "client_screens:{slug}", decode: decodeClientScreen, collab: true },
  { channel: "ps:email_images", family: "email_images:{uid}:{ext}", decode: decodeEmailImage, collab: true },
  { channel: "ps:sticky_random_groups", family: "sticky_random_group_number:{name}", decode: decodeStickyGroup, collab: true },
  { channel: "ps:transcripts", family: "transcripts:{uid}", decode: decodeTranscript, collab: false },
  {
    channel: "ps:journey_share_links:top_sharers",
    family: "journey_share_links:top_sharers:{start}:{end}",
    decode: decodeTopSharers,
    collab: false,
  },
  {
    channel: "ps:journey_subcategory_view_stats",
    family: "journey_subcategory_view_stats:{unix_date}",
    decode: decodeSubcategoryViewStats,
    collab: false,
  },
];

/** F-DATE: every daily stats family names its `ps:stats:…:daily` channel in the registry. */
const DAILY_STATS: readonly ChannelSpec[] = FAMILIES.filter((family) => family.channel?.startsWith("ps:stats:")).map(
  (family) => ({ channel: family.channel as string, family: family.name, decode: dailyStatsDecoder(family.name), collab: false }),
);

export const CHANNELS: readonly ChannelSpec[] = [...HAND_WRITTEN, ...DAILY_STATS];

const BY_CHANNEL: ReadonlyMap<string, ChannelSpec> = new Map(CHANNELS.map((spec) => [spec.channel, spec]));

export function channelSpec(channel: string): ChannelSpec | undefined {
  return BY_CHANNEL.get(channel);
}

/** The families purged after the subscription was interrupted (each with a family purge). */
export const COLLAB_FAMILIES: readonly string[] = CHANNELS.filter((spec) => spec.collab).map((spec) => spec.family);
