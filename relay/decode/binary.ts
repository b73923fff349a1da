/**
 * The length-prefixed binary framings of the per-user and configuration families (revenue cat
 * offerings, stripe prices, email images, home screen images, gender, sticky groups, client
 * flows and screens). docs/relay.md has the byte layouts.
 */
import { unixDateToIso } from "../../src/keys";
import type { Decoded } from "../actions";
import { actions, checkKey, evict, fill, jsonObject, refuse, skip } from "./common";
import { ByteReader, utf8 } from "./reader";

const OFFERINGS = "revenue_cat:offerings:{revenue_cat_id}:{platform}";
const STRIPE_PRICES = "stripe:abridged_prices:{product_id}";
const EMAIL_IMAGES = "email_images:{uid}:{ext}";
const HOME_SCREEN_IMAGES = "home_screen_images:{date_iso8601}:{has_pro}:{wrapped_only}";
const GENDER = "users:gender:{sub}";
const STICKY = "sticky_random_group_number:{name}";
const CLIENT_FLOWS = "client_flows:{slug}";
const CLIENT_SCREENS = "client_screens:{slug}";

const SECONDS_PER_DAY = 86_400;
/** The backend purges home screen images for 7 UTC dates starting 3 days before now. */
const HSI_PURGE_FIRST_DAY_OFFSET = -3;
const HSI_PURGE_DAYS = 7;
const PY_BOOLS = ["True", "False"] as const;
const STICKY_NUMBER_BYTES = 32;

/** A length-prefixed UTF-8 string field, or the refusal (past the end, not UTF-8). */
type Field = { ok: true; text: string } | { ok: false; decoded: Decoded };
function text(reader: ByteReader, width: "u8" | "u16" | "u32", name: string): Field {
  const bytes = reader.prefixed(width);
  if (bytes === undefined) return { ok: false, decoded: refuse("truncated", `${name} runs past the message`) };
  const value = utf8(bytes);
  if (value === undefined) return { ok: false, decoded: refuse("bad_encoding", `${name} is not UTF-8`) };
  return { ok: true, text: value };
}

function blob(reader: ByteReader, name: string): { ok: true; bytes: Uint8Array } | { ok: false; decoded: Decoded } {
  const bytes = reader.prefixed("u64");
  if (bytes === undefined) return { ok: false, decoded: refuse("truncated", `${name} runs past the message`) };
  return { ok: true, bytes };
}

/** F-RC `ps:revenue_cat:offerings`: u16 n · rc id · u8 m · platform · u64 k · gzip JSON. */
export function decodeOfferings(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const id = text(reader, "u16", "revenue cat id");
  if (!id.ok) return id.decoded;
  const platform = text(reader, "u8", "platform");
  if (!platform.ok) return platform.decoded;
  const value = blob(reader, "offerings");
  if (!value.ok) return value.decoded;
  return fill(`revenue_cat:offerings:${id.text}:${platform.text}`, OFFERINGS, value.bytes, receivedAt);
}

/** F-STRIPE `ps:stripe:products:prices`: u16 n · product id · u64 k · gzip JSON. */
export function decodeStripePrices(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const product = text(reader, "u16", "product id");
  if (!product.ok) return product.decoded;
  const value = blob(reader, "price");
  if (!value.ok) return value.decoded;
  return fill(`stripe:abridged_prices:${product.text}`, STRIPE_PRICES, value.bytes, receivedAt);
}

/**
 * F-EMAIL `ps:email_images`: u64 k · k bytes of JSON whose `email_image_uid` and `ext` name the
 * key. `type: "unknown"` is how the backend purges (readers treat it as a miss): a DELETE here.
 */
export function decodeEmailImage(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const value = blob(reader, "lookup result");
  if (!value.ok) return value.decoded;
  const doc = jsonObject(value.bytes);
  if (!doc.ok) return doc.decoded;
  const { type, email_image_uid: uid, ext } = doc.value;
  if (typeof uid !== "string" || typeof ext !== "string") return refuse("bad_field", "needs email_image_uid and ext strings");
  const key = `email_images:${uid}:${ext}`;
  switch (type) {
    case "unknown":
      return evict(key, EMAIL_IMAGES, receivedAt);
    case "found":
    case "bad_ext":
    case "not_found":
      return fill(key, EMAIL_IMAGES, value.bytes, receivedAt);
    default:
      return refuse("bad_field", "type is not found, bad_ext, not_found or unknown");
  }
}

/** The 28 keys the backend drops on a home screen images purge: 7 UTC dates × pro × wrapped. */
export function homeScreenImagePurgeKeys(receivedAt: number): string[] {
  const first = Math.floor(receivedAt / SECONDS_PER_DAY) + HSI_PURGE_FIRST_DAY_OFFSET;
  const keys: string[] = [];
  for (let day = 0; day < HSI_PURGE_DAYS; day++) {
    if (first + day < 0) continue; // a clock before 1970: no such dates
    const date = unixDateToIso(first + day);
    for (const pro of PY_BOOLS) for (const wrapped of PY_BOOLS) keys.push(`home_screen_images:${date}:${pro}:${wrapped}`);
  }
  return keys;
}

/**
 * F-HSI `ps:home_screen_images:available`: u8 1 · 10 ASCII bytes date · u8 pro · u8 wrapped ·
 * u64 k · gzip JSON is a fill; anything whose first byte is not 1 is a purge of the 7-day window
 * (the backend reads it that way, even an empty message).
 */
export function decodeHomeScreenImages(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  if (reader.u8() !== 1) {
    const keys: string[] = [];
    for (const key of homeScreenImagePurgeKeys(receivedAt)) {
      const checked = checkKey(key, HOME_SCREEN_IMAGES);
      if (!checked.ok) return checked.decoded;
      keys.push(checked.value.key);
    }
    return actions({ kind: "purge-keys", keys, family: HOME_SCREEN_IMAGES, sourceTime: receivedAt });
  }
  const dateBytes = reader.take(10);
  const pro = reader.u8();
  const wrapped = reader.u8();
  if (dateBytes === undefined || pro === undefined || wrapped === undefined) {
    return refuse("truncated", "fill header runs past the message");
  }
  const value = blob(reader, "images");
  if (!value.ok) return value.decoded;
  const date = utf8(dateBytes);
  if (date === undefined) return refuse("bad_encoding", "date is not ASCII");
  // Python's bool(int): any non-zero byte is True.
  const key = `home_screen_images:${date}:${pro !== 0 ? "True" : "False"}:${wrapped !== 0 ? "True" : "False"}`;
  return fill(key, HOME_SCREEN_IMAGES, value.bytes, receivedAt);
}

/** F-GENDER `ps:users:gender`: u8 kind (1 fill, else purge) · u16 n · sub · (fill) u64 k · JSON. */
export function decodeGender(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const kind = reader.u8();
  if (kind === undefined) return refuse("truncated", "empty message");
  const sub = text(reader, "u16", "sub");
  if (!sub.ok) return sub.decoded;
  const key = `users:gender:${sub.text}`;
  if (kind !== 1) return evict(key, GENDER, receivedAt);
  const value = blob(reader, "gender");
  if (!value.ok) return value.decoded;
  return fill(key, GENDER, value.bytes, receivedAt);
}

/** F-STICKY `ps:sticky_random_groups`: u32 n · name · u8 kind (0 delete, 1 set) · (1) 32 bytes. */
export function decodeStickyGroup(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const name = text(reader, "u32", "group name");
  if (!name.ok) return name.decoded;
  const kind = reader.u8();
  const key = `sticky_random_group_number:${name.text}`;
  if (kind === 0) return evict(key, STICKY, receivedAt);
  if (kind !== 1) return refuse(kind === undefined ? "truncated" : "bad_field", "kind must be 0 (delete) or 1 (set)");
  const number = reader.take(STICKY_NUMBER_BYTES);
  if (number === undefined) return refuse("truncated", "set needs 32 bytes");
  return fill(key, STICKY, number, receivedAt);
}

/**
 * F-FLOW `ps:client_flows`: u8 type · (type 0) u32 n · slug. Type 0 deletes both stored forms of
 * the flow; type 1 only drops the backend's in-memory set of valid slugs, which the edge does
 * not hold.
 */
export function decodeClientFlow(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const type = reader.u8();
  if (type === 1) return skip("valid-slug set changed: held only in backend memory");
  if (type !== 0) return refuse(type === undefined ? "truncated" : "bad_field", "type must be 0 or 1");
  const slug = text(reader, "u32", "slug");
  if (!slug.ok) return slug.decoded;
  const keys: string[] = [];
  for (const key of [`client_flows:${slug.text}`, `client_flows:${slug.text}:full`]) {
    const checked = checkKey(key, CLIENT_FLOWS);
    if (!checked.ok) return checked.decoded;
    keys.push(checked.value.key);
  }
  return actions({ kind: "purge-keys", keys, family: CLIENT_FLOWS, sourceTime: receivedAt });
}

/** F-SCREEN `ps:client_screens`: u32 n · slug, a delete. */
export function decodeClientScreen(message: Uint8Array, receivedAt: number): Decoded {
  const reader = new ByteReader(message);
  const slug = text(reader, "u32", "slug");
  if (!slug.ok) return slug.decoded;
  return evict(`client_screens:${slug.text}`, CLIENT_SCREENS, receivedAt);
}

