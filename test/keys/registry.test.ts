import { describe, expect, it } from "vitest";
import routesMarkdown from "../../docs/routes.md?raw";
import { FAMILIES, buildKey, getFamily, parseKey } from "../../src/keys";
import type { KeyFailure } from "../../src/keys";
import { EXAMPLE_KEYS } from "./examples";
import { EDGE_ROUTES } from "../../src/routes/table";

/** The seed document lists exactly this many families (docs/diskcache/keys.md). */
const SEED_FAMILY_COUNT = 63;

function expectFailure(key: string, reason: KeyFailure["reason"]): string {
  const result = parseKey(key);
  if (result.ok) throw new Error(`expected ${key} to fail, it parsed as ${result.value.family.name}`);
  expect(result.failure.reason).toBe(reason);
  return result.failure.message;
}

describe("registry shape", () => {
  it("has exactly one entry per seed family, with unique names", () => {
    expect(FAMILIES).toHaveLength(SEED_FAMILY_COUNT);
    expect(new Set(FAMILIES.map((f) => f.name)).size).toBe(SEED_FAMILY_COUNT);
  });

  it("has examples for exactly the registered families", () => {
    expect(Object.keys(EXAMPLE_KEYS).sort()).toEqual(FAMILIES.map((f) => f.name).sort());
  });

  it("registers the dead and infra families without routes", () => {
    for (const name of ["journeys:{uid}:meta", "updater-lock-key", "daily_contact_methods:{start}:{end}"]) {
      const family = getFamily(name);
      expect(family, name).toBeDefined();
      expect(family?.route).toBeNull();
    }
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))("%s is fully specified", (_, family) => {
    expect(["public", "resource", "user", "admin", "secret"]).toContain(family.sensitivity);
    expect(family.codec.name).toBeTruthy();
    expect(typeof family.codec.validate).toBe("function");
    expect(["fixed", "random", "la-midnight", "absolute", "none"]).toContain(family.expiry.kind);
    expect(family.note.length).toBeGreaterThan(10);
    expect(family.note).not.toContain("\n");
    if (family.route !== null) expect(family.route).toMatch(/^(GET|POST) \/api\/1\//);
    if (family.channel !== null) expect(family.channel).toMatch(/^ps:/);
    if (family.expiry.kind === "fixed") expect(family.expiry.seconds).toBeGreaterThanOrEqual(60);
    if (family.expiry.kind === "random") expect(family.expiry.minSeconds).toBeLessThanOrEqual(family.expiry.maxSeconds);
    expect(Object.isFrozen(family)).toBe(true);
  });

  it("classifies the sensitive families as the backend does (docs/families.md)", () => {
    const sensitivityOf = (name: string) => getFamily(name)?.sensitivity;
    expect(sensitivityOf("sticky_random_group_number:{name}")).toBe("secret");
    expect(sensitivityOf("updater-lock-key")).toBe("secret");
    expect(sensitivityOf("auth:is_admin:{sub}")).toBe("user");
    expect(sensitivityOf("users:gender:{sub}")).toBe("user");
    expect(sensitivityOf("entitlements:{user_sub}")).toBe("user");
    expect(sensitivityOf("daily_active_users:{unix_date}")).toBe("admin");
    expect(sensitivityOf("journey_share_links:top_sharers:{start}:{end}")).toBe("admin");
    expect(sensitivityOf("content_files:playlists:web:{uid}")).toBe("resource");
    expect(sensitivityOf("image_files:playlist:{uid}")).toBe("resource");
  });

  it("routes every admin chart family and the resource routes of docs/design.md §7", () => {
    const adminRouted = FAMILIES.filter((f) => f.route?.includes("/api/1/admin/"));
    // 20 daily stats + phone verifications + 5 LA charts (DAU, new users, MAU, retention,
    // subcategory views) + utm + journey feedback + top sharers.
    expect(adminRouted).toHaveLength(29);
    for (const family of adminRouted) expect(family.sensitivity).toBe("admin");
    expect(getFamily("transcripts:{uid}")?.route).toBe("GET /api/1/transcripts/{uid}");
    expect(getFamily("journeys:external:{uid}")?.route).toBeNull();
    expect(getFamily("interactive_prompts:external:{uid}")?.route).toBeNull();
    // The standard-auth POST routes (docs/routes.md).
    expect(getFamily("interactive_prompts:profile_pictures:{uid}:{prompt_time}")?.route).toBe("POST /api/1/interactive_prompts/profile_pictures");
    expect(getFamily("emotion_content_statistics")?.route).toBe("POST /api/1/emotions/personalized");
  });

  it("names as its route only paths the edge's route table answers", () => {
    // `{ios,android}` in a route field stands for one route per spelling.
    const spellings = (path: string): string[] => {
      const choice = /\{(\w+(?:,\w+)+)\}/.exec(path);
      return choice === null ? [path] : (choice[1] ?? "").split(",").flatMap((option) => spellings(path.replace(choice[0], option)));
    };
    for (const family of FAMILIES) {
      if (family.route === null) continue;
      const [method = "", path = ""] = family.route.split(" ");
      for (const spelling of spellings(path)) {
        expect(EDGE_ROUTES.some((route) => route.method === method && route.path === spelling && route.handler !== null), `${family.name}: ${method} ${spelling}`).toBe(true);
      }
    }
  });

  it("uses the codecs docs/families.md documents", () => {
    const codecOf = (name: string) => getFamily(name)?.codec.name;
    expect(codecOf("journeys:external:{uid}")).toBe("blocks");
    expect(codecOf("transcripts:{uid}")).toBe("u64-json");
    expect(codecOf("journey_share_links:top_sharers:{start}:{end}")).toBe("u64-gzip-json");
    expect(codecOf("sticky_random_group_number:{name}")).toBe("bytes32");
    expect(codecOf("s3_files:{uid}")).toBe("bytes");
    expect(codecOf("stripe:abridged_prices:{product_id}")).toBe("gzip-json");
    expect(codecOf("daily_phone_verifications:{from}:{to}")).toBe("json");
    expect(codecOf("daily_push_tokens:{start}:{end}")).toBe("gzip-json");
    expect(codecOf("users:{sub}:created_at")).toBe("float");
  });

  it("getFamily returns undefined for anything but an exact pattern", () => {
    expect(getFamily("journeys:external")).toBeUndefined();
    expect(getFamily("__proto__")).toBeUndefined();
    expect(getFamily("journeys:external:oseh_j_Kq3vYk1nX0b2TQ7eW5m9Rg")).toBeUndefined();
  });
});

describe("parseKey / buildKey round trip", () => {
  const cases = Object.entries(EXAMPLE_KEYS).flatMap(([name, keys]) => keys.map((key) => [name, key] as const));

  it.each(cases)("%s parses %s", (name, key) => {
    const result = parseKey(key);
    if (!result.ok) throw new Error(result.failure.message);
    expect(result.value.family.name).toBe(name);
    expect(result.value.key).toBe(key);
    expect(buildKey(result.value.family, result.value.params)).toEqual({ ok: true, key });
  });

  it("extracts typed params", () => {
    const mau = parseKey("monthly_active_users:19675:day");
    expect(mau.ok && mau.value.params).toEqual({ unix_date: "19675", labelled_by: "day" });
    const top = parseKey("journey_share_links:top_sharers:None:19674");
    expect(top.ok && top.value.params).toEqual({ start: "None", end: "19674" });
    const thumb = parseKey("thumbhashes:oseh_if_bl9Xc3VtE5r2NqK8uZ1oMa:390x844");
    expect(thumb.ok && thumb.value.params).toEqual({ image_uid: "oseh_if_bl9Xc3VtE5r2NqK8uZ1oMa", width: "390", height: "844" });
    const full = parseKey("client_flows:upgrade:full");
    expect(full.ok && full.value.params).toEqual({ slug: "upgrade", variant: "full" });
    const minimal = parseKey("client_flows:upgrade");
    expect(minimal.ok && minimal.value.params).toEqual({ slug: "upgrade" });
  });

  it("tells apart patterns that share prefixes", () => {
    const familyOf = (key: string) => {
      const result = parseKey(key);
      return result.ok ? result.value.family.name : result.failure.reason;
    };
    expect(familyOf("daily_journey_share_links:19584:19674")).toBe("daily_journey_share_links:{start}:{end}");
    expect(familyOf("daily_journey_share_links:unique_views:19584:19674")).toBe(
      "daily_journey_share_links:unique_views:{start}:{end}",
    );
    expect(familyOf("content_files:vods:oseh_cfe_a:meta")).toBe("content_files:vods:{uid}:meta");
    expect(familyOf("content_files:vods:oseh_cfe_a:m3u")).toBe("content_files:vods:{uid}:m3u");
    expect(familyOf("interactive_prompts:external:oseh_ip_a")).toBe("interactive_prompts:external:{uid}");
    expect(familyOf("interactive_prompts:oseh_ip_a:meta")).toBe("interactive_prompts:{uid}:meta");
    expect(familyOf("interactive_prompts:special:notification-time:info")).toBe(
      "interactive_prompts:special:{public_identifier}:info",
    );
    expect(familyOf("interactive_prompts:profile_pictures:oseh_ip_a:2")).toBe(
      "interactive_prompts:profile_pictures:{uid}:{prompt_time}",
    );
    expect(familyOf("journeys:oseh_j_a:meta")).toBe("journeys:{uid}:meta");
    expect(familyOf("journeys:external:oseh_j_a")).toBe("journeys:external:{uid}");
    expect(familyOf("users:oseh_u_a:created_at")).toBe("users:{sub}:created_at");
    expect(familyOf("users:gender:oseh_u_a")).toBe("users:gender:{sub}");
    // A slug called `full` is still the minimal form of that flow.
    expect(familyOf("client_flows:full")).toBe("client_flows:{slug}");
  });

  it("buildKey accepts numbers and builds the :full variant", () => {
    const dau = getFamily("daily_push_tokens:{start}:{end}");
    if (dau === undefined) throw new Error("missing family");
    expect(buildKey(dau, { start: 19584, end: 19675 })).toEqual({ ok: true, key: "daily_push_tokens:19584:19675" });
    const flows = getFamily("client_flows:{slug}");
    if (flows === undefined) throw new Error("missing family");
    expect(buildKey(flows, { slug: "upgrade", variant: "full" })).toEqual({ ok: true, key: "client_flows:upgrade:full" });
    expect(buildKey(flows, { slug: "upgrade" })).toEqual({ ok: true, key: "client_flows:upgrade" });
  });

  it("buildKey refuses params its family does not take, as a value saying why", () => {
    const family = getFamily("monthly_active_users:{unix_date}:{labelled_by}");
    if (family === undefined) throw new Error("missing family");
    expect(buildKey(family, { unix_date: 19675 })).toMatchObject({ ok: false, reason: expect.any(String) });
    expect(buildKey(family, { unix_date: 19675, labelled_by: "week" })).toMatchObject({ ok: false, reason: expect.any(String) });
    expect(buildKey(family, { unix_date: -1, labelled_by: "day" })).toMatchObject({ ok: false, reason: expect.any(String) });
    expect(buildKey(family, { unix_date: 1.5, labelled_by: "day" })).toMatchObject({ ok: false, reason: expect.any(String) });
    expect(buildKey(family, { unix_date: "019675", labelled_by: "day" })).toMatchObject({ ok: false, reason: expect.any(String) });
    expect(buildKey(family, { unix_date: 19675, labelled_by: "day", extra: "x" })).toMatchObject({ ok: false, reason: expect.any(String) });
    const fake = { ...family };
    expect(buildKey(fake, { unix_date: 19675, labelled_by: "day" })).toEqual({ ok: false, reason: expect.stringMatching(/not a registered family/) });
  });
});

describe("parseKey rejections", () => {
  it("rejects keys over 512 bytes of UTF-8", () => {
    const atLimit = `client_flows:${"a".repeat(255)}`;
    expect(parseKey(atLimit).ok).toBe(true);
    const long = `emotion_users:pictures:${"a".repeat(513 - "emotion_users:pictures:".length)}`;
    expect(new TextEncoder().encode(long).length).toBe(513);
    const message = expectFailure(long, "key_too_long");
    expect(message.length).toBeLessThan(220);
    // 200 code units but 600 bytes: measured in UTF-8, not UTF-16.
    expectFailure(`client_flows:${"€".repeat(200)}`, "key_too_long");
    expectFailure("x".repeat(100_000), "key_too_long");
  });

  it("rejects unknown prefixes and the reserved _edge: space", () => {
    expectFailure("no_such_family:1", "unknown_family");
    expectFailure("", "unknown_family");
    expectFailure("__proto__", "unknown_family");
    expectFailure("constructor:x", "unknown_family");
    expectFailure("toString", "unknown_family");
    expect(expectFailure("_edge:gen:journeys", "unknown_family")).toContain("reserved");
    expectFailure("_edge:", "unknown_family");
    expectFailure("Journeys:external:oseh_j_a", "unknown_family");
  });

  it.each([
    ["extra segment", "transcripts:oseh_t_tr6Fd9KsA3z0PhU4jY8nVc:extra"],
    ["missing segment", "monthly_active_users:19675"],
    ["trailing colon", "transcripts:oseh_t_tr6Fd9KsA3z0PhU4jY8nVc:"],
    ["leading colon param", "transcripts::oseh_t_a"],
    ["bare namespace", "transcripts"],
    ["wrong uid prefix", "transcripts:oseh_j_tr6Fd9KsA3z0PhU4jY8nVc"],
    ["no oseh_ prefix", "journeys:external:Kq3vYk1nX0b2TQ7eW5m9Rg"],
    ["uid with bad chars", "journeys:external:oseh_j_abc.def"],
    ["empty uid body", "journeys:external:oseh_j_"],
    ["uid too long", `journeys:external:oseh_j_${"a".repeat(65)}`],
    ["uppercase enum", "monthly_active_users:19675:DAY"],
    ["unknown enum", "retention_stats:19675:14day"],
    ["python bool lowercase", "home_screen_images:2024-11-03:true:False"],
    ["leading zero date", "daily_active_users:019675"],
    ["negative date", "daily_active_users:-1"],
    ["date after 9999", "daily_active_users:2932897"],
    ["None where not allowed", "daily_push_tokens:None:19675"],
    ["None as end", "journey_share_links:top_sharers:19600:None"],
    ["bad ISO date", "home_screen_images:2023-02-30:True:False"],
    ["odd prompt time", "interactive_prompts:profile_pictures:oseh_ip_a:3"],
    ["zero thumbhash width", "thumbhashes:oseh_if_a:0x1"],
    ["filters: pr without size", "content_files:playlists:mobile:oseh_cf_a:w=,h=,pr=2,bmin=90000,bmax="],
    ["filters: unnormalized pr", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=2.0,bmin=90000,bmax="],
    ["filters: pr 10", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=10,bmin=90000,bmax="],
    ["filters: only w", "content_files:playlists:mobile:oseh_cf_a:w=1,h=,pr=,bmin=90000,bmax="],
    ["filters: empty bmin", "content_files:playlists:mobile:oseh_cf_a:w=,h=,pr=,bmin=,bmax="],
    ["filters: reordered", "content_files:playlists:mobile:oseh_cf_a:h=,w=,pr=,bmin=90000,bmax="],
    ["slug with uppercase", "client_flows:Upgrade"],
    ["slug with space", "client_flows:up grade"],
    ["client flow other suffix", "client_flows:upgrade:minimal"],
    ["unknown special identifier", "interactive_prompts:special:other:info"],
    ["language with symbols", "onboarding:welcome:male:<en>"],
    ["language with a space", "onboarding:welcome:male:en US"],
    ["language with a hyphen (the backend cuts there)", "onboarding:welcome:male:en-US"],
    ["language wildcard with more", "onboarding:welcome:male:*_x"],
    ["language too long", `onboarding:welcome:male:${"a".repeat(9)}`],
    ["filters: 15 as 1.5E+1", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=1.5E+1,bmin=90000,bmax="],
    ["filters: 0.1 as 1E-1", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=1E-1,bmin=90000,bmax="],
    ["filters: 1E-7 spelled plain", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=0.0000001,bmin=90000,bmax="],
    ["filters: 2 as 2E+0", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=2E+0,bmin=90000,bmax="],
    ["filters: leading zero pr", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=01.5,bmin=90000,bmax="],
    ["filters: zero pr", "content_files:playlists:mobile:oseh_cf_a:w=1,h=1,pr=0,bmin=90000,bmax="],
    ["gender none lowercase", "onboarding:welcome:none:en"],
    ["platform uppercase", "revenue_cat:offerings:oseh_u_rc_a:Stripe"],
    ["revenue cat id of a user", "revenue_cat:offerings:oseh_u_a:stripe"],
    ["emotion with colon-free junk", "emotion_users:pictures:<script>"],
    ["emotion with trailing space", "emotion_users:pictures:calm "],
    ["non-ascii param", "emotion_users:pictures:café"],
    ["control character", "emotion_users:pictures:calm\n"],
    ["updater key with suffix", "updater-lock-key:x"],
    ["statistics with suffix", "emotion_content_statistics:x"],
    ["unique views missing end", "daily_journey_share_links:unique_views:19584"],
  ])("rejects %s", (_, key) => {
    const message = expectFailure(key, "malformed_key");
    expect(message.length).toBeGreaterThan(0);
  });

  it("says what is wrong, without echoing more than ~100 characters of the key", () => {
    expect(expectFailure("transcripts:oseh_j_x", "malformed_key")).toContain('"oseh_t_"');
    expect(expectFailure("monthly_active_users:19675:DAY", "malformed_key")).toContain("day, month");
    const longJunk = `emotion_users:pictures:${"<".repeat(300)}`;
    const message = expectFailure(longJunk, "malformed_key");
    expect(message).not.toContain("<".repeat(120));
    expect(message.length).toBeLessThan(400);
  });
});

describe("mobile filter keys the backend really builds", () => {
  it("accepts bmax below the defaulted bmin (validated before bmin defaults to 90000)", () => {
    const key = "content_files:playlists:mobile:oseh_cf_a:w=,h=,pr=,bmin=90000,bmax=50000";
    const parsed = parseKey(key);
    expect(parsed.ok).toBe(true);
  });
});

describe("onboarding languages the backend really builds (B #28, extract_language_code)", () => {
  it("parses the wildcard, Java-style tags and the empty language, and builds them back", () => {
    for (const language of ["*", "en_US", "zh_Hant_TW", "es_419", "EN", ""]) {
      const key = `onboarding:welcome:unknown:${language}`;
      const parsed = parseKey(key);
      if (!parsed.ok) throw new Error(parsed.failure.message);
      expect(parsed.value.params).toEqual({ gender: "unknown", language });
      expect(buildKey(parsed.value.family, parsed.value.params)).toEqual({ ok: true, key });
    }
  });

  it("still refuses an empty value for params that do not allow it", () => {
    expectFailure("emotion_users:pictures:", "malformed_key");
    expectFailure("onboarding:welcome::en", "malformed_key");
  });
});

describe("getFamily", () => {
  it("finds a family by its pattern under the seed's placeholder names", () => {
    expect(getFamily("daily_push_tokens:{start_unix_date}:{end_unix_date}")?.name).toBe(getFamily("daily_push_tokens:{start}:{end}")?.name);
    expect(getFamily("journey_share_links:top_sharers:{start_unix_date}:{end_unix_date}")).toBeDefined();
  });

  it("does not find a pattern of another shape", () => {
    expect(getFamily("daily_push_tokens:{start}")).toBeUndefined();
    expect(getFamily("daily_push_tokens:{start}:{end}:{extra}")).toBeUndefined();
  });
});

describe("negative answers (docs/routes.md \"Negatives\", \"Remembered absences\")", () => {
  /** The family column of the table under `heading` in docs/routes.md. */
  function tableFamilies(heading: string): string[] {
    const section = routesMarkdown.split(`\n## ${heading}\n`)[1]?.split("\n## ")[0] ?? "";
    return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1] ?? "");
  }

  it("docs/routes.md lists exactly the families whose absence is remembered, each with its backend file", () => {
    const remembering = FAMILIES.filter((family) => family.absenceCachedBy !== undefined);
    expect(tableFamilies("Remembered absences")).toEqual(remembering.map((family) => family.name));
    for (const family of remembering) expect(routesMarkdown).toContain(`| \`${family.name}\` | \`${family.absenceCachedBy?.split(" ")[0]}\``);
  });

  it("docs/routes.md lists exactly the families anonymous requests name", () => {
    expect(tableFamilies("Negatives")).toEqual(FAMILIES.filter((family) => family.anonymousKeys !== undefined).map((family) => family.name));
  });

  const bytes = (text: string) => new TextEncoder().encode(text);
  const lookup = (fields: Record<string, unknown>) => bytes(JSON.stringify({ email_image_uid: "oseh_eim_x", ext: "png", ...fields }));

  it("email lookups: not_found and an unchecked bad_ext are negatives; found, a checked bad_ext, the unknown marker and junk are not", () => {
    const rule = getFamily("email_images:{uid}:{ext}")?.anonymousKeys;
    expect(rule).toBeDefined();
    const negative = (value: Uint8Array) => rule?.isNegative(value);
    expect(negative(lookup({ type: "not_found" }))).toBe(true);
    expect(negative(lookup({ type: "bad_ext", checked: false }))).toBe(true);
    expect(negative(lookup({ type: "bad_ext", checked: true }))).toBe(false);
    expect(negative(lookup({ type: "bad_ext" }))).toBe(false);
    expect(negative(lookup({ type: "found", image_file_export_uid: "oseh_ife_x" }))).toBe(false);
    expect(negative(lookup({ type: "unknown" }))).toBe(false);
    for (const junk of ["", "not json", "null", "[]", '"not_found"', "\u00ff"]) expect(negative(bytes(junk))).toBe(false);
  });

  it("the is-public bit: 0 is a negative, 1 is not", () => {
    const rule = getFamily("image_files:public:{uid}")?.anonymousKeys;
    expect([rule?.isNegative(bytes("0")), rule?.isNegative(bytes("1")), rule?.isNegative(bytes("00"))]).toEqual([true, false, false]);
  });
});
