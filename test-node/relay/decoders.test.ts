/**
 * The decoders, one per framing: golden messages from the backend's own publishers
 * (test/fixtures/blocks.json), messages built as the backend builds them, bad messages, and a
 * property test per decoder — arbitrary bytes give actions or a refusal, never an exception.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FAMILIES, laMidnightStartOf, laUnixDate } from "../../src/keys";
import type { Decoded, EdgeAction } from "../../relay/actions";
import { CHANNELS, COLLAB_FAMILIES, channelSpec } from "../../relay/channels";
import { homeScreenImagePurgeKeys } from "../../relay/decode/binary";
import { b64, concat, enc, fDate, gzipJson, journeyHeader, loadVectors, prefixed, u16, u32, u64, u8 } from "./messages";

const NOW = 1_764_547_200; // 2025-12-01T00:00:00Z
const decode = (channel: string, message: Uint8Array, now = NOW): Decoded => {
  const spec = channelSpec(channel);
  if (spec === undefined) throw new Error(`no decoder for ${channel}`);
  return spec.decode(message, now);
};
const only = (decoded: Decoded): EdgeAction => {
  if (!decoded.ok) throw new Error(`refused: ${decoded.reason} ${decoded.message}`);
  expect(decoded.actions).toHaveLength(1);
  return decoded.actions[0] as EdgeAction;
};
const refusal = (decoded: Decoded): string => {
  if (decoded.ok) throw new Error(`expected a refusal, got ${JSON.stringify(decoded.actions.map((a) => a.kind))}`);
  return decoded.reason;
};

describe("channel table", () => {
  it("covers exactly the registry's channels (the doc-only contact methods channel aside)", () => {
    const registry = FAMILIES.filter((f) => f.channel !== null).map((f) => `${f.channel} → ${f.name}`);
    const relay = CHANNELS.map((spec) => `${spec.channel} → ${spec.family}`);
    expect([...relay].sort()).toEqual([...registry].sort());
    expect(CHANNELS.filter((spec) => spec.channel.startsWith("ps:stats:"))).toHaveLength(20);
  });

  it("purges the collab families after an interruption, not the fill-only ones", () => {
    expect(COLLAB_FAMILIES).toContain("journeys:external:{uid}");
    expect(COLLAB_FAMILIES).toContain("sticky_random_group_number:{name}");
    expect(COLLAB_FAMILIES).not.toContain("transcripts:{uid}");
    expect(COLLAB_FAMILIES.some((family) => family.startsWith("daily_"))).toBe(false);
  });
});

describe("golden messages from the backend's publishers", () => {
  const vectors = loadVectors();

  it("every pubsub_fill decodes to a PUT of exactly the bytes the backend caches", () => {
    const fills = vectors.filter((v) => v.pubsub_fill);
    expect(fills.length).toBe(21);
    for (const vector of fills) {
      const action = only(decode(vector.pubsub_fill.channel, b64(vector.pubsub_fill.message_b64)));
      expect(action.kind, vector.id).toBe("put");
      if (action.kind !== "put") continue;
      expect(action.key, vector.id).toBe(vector.cache_key);
      expect(Buffer.from(action.value).toString("base64"), vector.id).toBe(vector.cached_bytes_b64);
      expect(action.expiresAt, vector.id).toBeUndefined();
    }
  });

  it("journey fills carry min_checked_at as the source time", () => {
    const vector = vectors.find((v) => v.id === "journey-full");
    const action = only(decode(vector.pubsub_fill.channel, b64(vector.pubsub_fill.message_b64)));
    expect(action.sourceTime).toBe(1_700_000_000);
  });

  it("every pubsub_evict decodes to a DELETE of the vector's key", () => {
    const evictions = vectors.filter((v) => v.pubsub_evict);
    expect(evictions.length).toBe(5);
    for (const vector of evictions) {
      const action = only(decode(vector.pubsub_evict.channel, b64(vector.pubsub_evict.message_b64)));
      expect(action.kind, vector.id).toBe("delete");
      if (action.kind === "delete") expect(action.key, vector.id).toMatch(/^(journeys|interactive_prompts):external:oseh_/);
    }
  });
});

describe("framings", () => {
  it("journeys: a header with spaces (the jobs server's json.dumps) is parsed, not byte-matched", () => {
    const header = '{"uid": "oseh_j_Kq3vYk1nX0b2TQ7eW5m9Rg", "min_checked_at": 1700000000.123, "have_updated": false}';
    expect(only(decode("ps:journeys:external:push_cache", journeyHeader(header)))).toEqual({
      kind: "delete",
      key: "journeys:external:oseh_j_Kq3vYk1nX0b2TQ7eW5m9Rg",
      family: "journeys:external:{uid}",
      sourceTime: 1700000000.123,
    });
  });

  it("journeys: bad headers and bad templates are refused", () => {
    const channel = "ps:journeys:external:push_cache";
    expect(refusal(decode(channel, u32(10)))).toBe("truncated");
    expect(refusal(decode(channel, journeyHeader("not json")))).toBe("bad_encoding");
    expect(refusal(decode(channel, journeyHeader('{"uid":"oseh_j_x","have_updated":true}')))).toBe("bad_field");
    expect(refusal(decode(channel, journeyHeader('{"uid":"nope","min_checked_at":1,"have_updated":false}')))).toBe("bad_key");
    const header = '{"uid":"oseh_j_abc","min_checked_at":1,"have_updated":true}';
    expect(refusal(decode(channel, journeyHeader(header, Uint8Array.of(0, 0, 0, 9, 1))))).toBe("bad_value");
  });

  it("prompts: any first byte but 0 is a fill; the uid must be ASCII", () => {
    const channel = "ps:interactive_prompts:push_cache";
    const uid = enc("oseh_ip_abc");
    const template = concat(u32(2), u8(1), enc("{}"));
    const fill = only(decode(channel, concat(u8(7), prefixed(u32, uid), template)));
    expect(fill).toMatchObject({ kind: "put", key: "interactive_prompts:external:oseh_ip_abc", sourceTime: NOW });
    expect(refusal(decode(channel, concat(u8(0), prefixed(u32, enc("oseh_ip_é")))))).toBe("bad_encoding");
    expect(refusal(decode(channel, u8(0)))).toBe("truncated");
  });

  it("profile pictures: header JSON with prompt_time; a fill carries the list", () => {
    const channel = "ps:interactive_prompts:profile_pictures:push_cache";
    const header = '{"uid":"oseh_ip_abc","prompt_time":4,"min_checked_at":1764547100.5,"have_updated":true}';
    const action = only(decode(channel, journeyHeader(header, enc('{"profile_pictures":[]}'))));
    expect(action).toMatchObject({ kind: "put", key: "interactive_prompts:profile_pictures:oseh_ip_abc:4", sourceTime: 1764547100.5 });
    const odd = '{"uid":"oseh_ip_abc","prompt_time":3,"min_checked_at":1,"have_updated":false}';
    expect(refusal(decode(channel, journeyHeader(odd)))).toBe("bad_key");
    const float = '{"uid":"oseh_ip_abc","prompt_time":4.5,"min_checked_at":1,"have_updated":false}';
    expect(refusal(decode(channel, journeyHeader(float)))).toBe("bad_field");
  });

  it("transcripts and top sharers: the stored value gets the u64 length prefix; trailing bytes are ignored", () => {
    const blob = enc('{"uid":"oseh_t_abc","phrases":[]}');
    const action = only(decode("ps:transcripts", concat(prefixed(u32, enc("oseh_t_abc")), prefixed(u64, blob), enc("trailing"))));
    expect(action.kind === "put" && Buffer.from(action.value).equals(Buffer.concat([u64(blob.byteLength), blob]))).toBe(true);
    expect(refusal(decode("ps:transcripts", concat(prefixed(u32, enc("oseh_t_abc")), u64(99), blob)))).toBe("truncated");
    const gz = gzipJson({ top_sharers: [], checked_at: 1.0 });
    const sharers = only(decode("ps:journey_share_links:top_sharers", fDate(0xffffffff, 19674, gz)));
    expect(sharers).toMatchObject({ key: "journey_share_links:top_sharers:None:19674" });
  });

  it("subcategory view stats: expires at the LA midnight ending its date; a past date is skipped", () => {
    const today = laUnixDate(NOW);
    const action = only(decode("ps:journey_subcategory_view_stats", concat(u32(today), enc('{"items":[]}'))));
    expect(action).toMatchObject({ kind: "put", key: `journey_subcategory_view_stats:${today}`, expiresAt: laMidnightStartOf(today + 1) });
    const past = decode("ps:journey_subcategory_view_stats", concat(u32(today - 1), enc('{"items":[]}')));
    expect(past).toMatchObject({ ok: true, actions: [] });
    expect(refusal(decode("ps:journey_subcategory_view_stats", concat(u32(0xffffffff), enc("{}"))))).toBe("bad_field");
  });

  it("F-DATE: every daily stats channel fills its own family's key", () => {
    for (const spec of CHANNELS.filter((s) => s.channel.startsWith("ps:stats:"))) {
      const action = only(decode(spec.channel, fDate(20000, 20090, gzipJson({ labels: [] }))));
      expect(action).toMatchObject({ kind: "put", family: spec.family, key: `${spec.family.slice(0, spec.family.indexOf("{"))}20000:20090` });
    }
    expect(refusal(decode("ps:stats:sms_sends:daily", fDate(1, 2, enc("not gzip"))))).toBe("bad_value");
  });

  it("F-RC, F-STRIPE: length-prefixed ids, gzip JSON", () => {
    const offerings = concat(prefixed(u16, enc("oseh_u_rc_abc")), prefixed(u8, enc("stripe")), prefixed(u64, gzipJson({ offerings: [] })));
    expect(only(decode("ps:revenue_cat:offerings", offerings))).toMatchObject({ key: "revenue_cat:offerings:oseh_u_rc_abc:stripe" });
    const badPlatform = concat(prefixed(u16, enc("oseh_u_rc_abc")), prefixed(u8, enc("web")), prefixed(u64, gzipJson({})));
    expect(refusal(decode("ps:revenue_cat:offerings", badPlatform))).toBe("bad_key");
    const price = concat(prefixed(u16, enc("prod_123")), prefixed(u64, gzipJson({ uid: "x" })));
    expect(only(decode("ps:stripe:products:prices", price))).toMatchObject({ key: "stripe:abridged_prices:prod_123" });
  });

  it("F-EMAIL: the key is inside the JSON; unknown is a delete; negatives about made-up uids are never written", () => {
    const doc = (type: string, extra: Record<string, unknown> = {}) => prefixed(u64, enc(JSON.stringify({ type, email_image_uid: "oseh_eim_abc", ext: "png", ...extra })));
    const found = { width: 600, height: 200, target_pixel_ratio: "3", actual_pixel_ratio: "3", image_file_export_uid: "oseh_ife_abc" };
    expect(only(decode("ps:email_images", doc("found", found)))).toMatchObject({ kind: "put", key: "email_images:oseh_eim_abc:png" });
    // The image exists, without an export in that format: a real answer, stored.
    expect(only(decode("ps:email_images", doc("bad_ext", { checked: true })))).toMatchObject({ kind: "put", key: "email_images:oseh_eim_abc:png" });
    expect(only(decode("ps:email_images", doc("unknown")))).toMatchObject({ kind: "delete", key: "email_images:oseh_eim_abc:png" });
    // No such uid, or an extension never served (the uid was not even looked up): the edge keeps
    // these in the colo that asked, so the relay writes nothing (docs/relay.md).
    for (const negative of [doc("not_found"), doc("bad_ext", { checked: false })]) {
      expect(decode("ps:email_images", negative)).toEqual({ ok: true, actions: [], skipped: "a negative answer of email_images:{uid}:{ext} stays colo-local at the edge" });
    }
    expect(refusal(decode("ps:email_images", doc("other")))).toBe("bad_field");
  });

  it("F-HSI: a fill, or a purge of the 28 keys of the 7-day UTC window around now", () => {
    const fill = concat(u8(1), enc("2025-12-01"), u8(1), u8(0), prefixed(u64, gzipJson([])));
    expect(only(decode("ps:home_screen_images:available", fill))).toMatchObject({ key: "home_screen_images:2025-12-01:True:False" });
    const purge = only(decode("ps:home_screen_images:available", u8(0)));
    expect(purge.kind).toBe("purge-keys");
    const keys = homeScreenImagePurgeKeys(NOW);
    expect(keys).toHaveLength(28);
    expect(keys[0]).toBe("home_screen_images:2025-11-28:True:True");
    expect(keys[27]).toBe("home_screen_images:2025-12-04:False:False");
    expect(purge.kind === "purge-keys" && purge.keys).toEqual(keys);
    expect(refusal(decode("ps:home_screen_images:available", concat(u8(1), enc("2025-12-01"))))).toBe("truncated");
  });

  it("F-GENDER, F-STICKY, F-FLOW, F-SCREEN, F-JSON, entitlements, prompt meta", () => {
    const sub = prefixed(u16, enc("oseh_u_abc"));
    expect(only(decode("ps:users:gender", concat(u8(0), sub)))).toMatchObject({ kind: "delete", key: "users:gender:oseh_u_abc" });
    expect(only(decode("ps:users:gender", concat(u8(1), sub, prefixed(u64, enc('{"gender":"unknown"}')))))).toMatchObject({ kind: "put" });

    const name = prefixed(u32, enc("Group A"));
    expect(only(decode("ps:sticky_random_groups", concat(name, u8(1), new Uint8Array(32))))).toMatchObject({ kind: "put" });
    expect(only(decode("ps:sticky_random_groups", concat(name, u8(0))))).toMatchObject({ kind: "delete", key: "sticky_random_group_number:Group A" });
    expect(refusal(decode("ps:sticky_random_groups", concat(name, u8(1), new Uint8Array(31))))).toBe("truncated");
    expect(refusal(decode("ps:sticky_random_groups", concat(name, u8(2))))).toBe("bad_field");

    expect(only(decode("ps:client_flows", concat(u8(0), prefixed(u32, enc("welcome")))))).toMatchObject({
      kind: "purge-keys",
      keys: ["client_flows:welcome", "client_flows:welcome:full"],
    });
    expect(decode("ps:client_flows", u8(1))).toMatchObject({ ok: true, actions: [] });
    expect(only(decode("ps:client_screens", prefixed(u32, enc("confirm"))))).toMatchObject({ kind: "delete", key: "client_screens:confirm" });

    const stats = [{ emotion: { word: "calm", antonym: "anxious" }, num_journeys: 3 }];
    const fill = only(decode("ps:emotion_content_statistics:push_cache", enc(JSON.stringify({ replace_stats: stats }))));
    expect(fill.kind === "put" && new TextDecoder().decode(fill.value)).toBe(JSON.stringify({ stats }));
    expect(only(decode("ps:emotion_content_statistics:push_cache", enc('{"replace_stats":null}')))).toMatchObject({ kind: "delete" });
    expect(refusal(decode("ps:emotion_content_statistics:push_cache", enc('{"replace_stats":3}')))).toBe("bad_field");

    const purge = only(decode("ps:entitlements:purge", enc('{"user_sub":"oseh_u_abc","min_checked_at":1764547000.25}')));
    expect(purge).toEqual({ kind: "delete", key: "entitlements:oseh_u_abc", family: "entitlements:{user_sub}", sourceTime: 1764547000.25 });
    expect(only(decode("ps:interactive_prompts:meta:push_cache", enc("oseh_ip_abc")))).toMatchObject({ key: "interactive_prompts:oseh_ip_abc:meta" });
  });
});

describe("property: arbitrary bytes never make a decoder throw", () => {
  const shapeOk = (decoded: Decoded): boolean =>
    decoded.ok ? Array.isArray(decoded.actions) : typeof decoded.reason === "string" && typeof decoded.message === "string";

  // Random bytes, and bytes that start with plausible prefixes so the deeper branches run too.
  const bytes = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.tuple(fc.constantFrom(0, 1, 2, 255), fc.integer({ min: 0, max: 40 }), fc.uint8Array({ maxLength: 80 })).map(([kind, n, rest]) =>
      concat(u8(kind), u32(n), rest),
    ),
    fc.tuple(fc.integer({ min: 0, max: 60 }), fc.uint8Array({ maxLength: 80 })).map(([n, rest]) => concat(u16(n), rest)),
    fc.tuple(fc.integer({ min: 0, max: 120 }), fc.string({ maxLength: 120 }), fc.uint8Array({ maxLength: 40 })).map(([n, s, rest]) =>
      concat(u32(n), enc(s), rest),
    ),
    fc.json().map((text) => enc(text)),
  );

  for (const spec of CHANNELS) {
    it(spec.channel, () => {
      fc.assert(
        fc.property(bytes, fc.double({ min: 0, max: 4e9, noNaN: true }), (message, now) => {
          const decoded = spec.decode(message, now);
          return shapeOk(decoded);
        }),
        { numRuns: 300 },
      );
    });
  }
});
