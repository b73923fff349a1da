/**
 * Presigning at serve time (docs/design.md §5 last bullet; docs/families.md (A #n) #1, #6, #7, #9 and
 * convention 4): stored URL-bearing bodies carry no credentials, and the request's resource JWT
 * is appended as `?jwt=<urlencoded>`.
 *
 * The backend builds the suffix with `"?" + urlencode({"jwt": token})`, i.e. `quote_plus`; for a
 * JWT (base64url and dots) that is the same as `encodeURIComponent`, and `pyQuotePlus` keeps
 * the two identical for any other string too.
 */

const encoder = new TextEncoder();

const QUOTE_PLUS_SAFE = /[A-Za-z0-9_.\-~]/;

/** Python `urllib.parse.quote_plus` (UTF-8, uppercase hex, space → `+`). */
export function pyQuotePlus(value: string): string {
  let out = "";
  for (const byte of encoder.encode(value)) {
    const ch = String.fromCharCode(byte);
    if (byte < 0x80 && QUOTE_PLUS_SAFE.test(ch)) out += ch;
    else if (byte === 0x20) out += "+";
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The text appended to each URL: `?jwt=<quote_plus(token)>`. */
export function presignSuffix(jwt: string): string {
  return `?jwt=${pyQuotePlus(jwt)}`;
}

/** A step of a `JsonUrlPath` that matches every element of an array. */
export const EACH_ELEMENT: unique symbol = Symbol("each element");
/** A step of a `JsonUrlPath` that matches every member of an object, whatever its key. */
export const ANY_KEY: unique symbol = Symbol("any key");

/**
 * Where a document's presignable URLs sit, from the root: object keys, `ANY_KEY`, `EACH_ELEMENT`,
 * ending in the key of the string to presign. Only that field is touched: free-form objects
 * beside it (web.json's `format_parameters`) keep any `url` they contain, as in the backend.
 */
export type JsonUrlPath = readonly [...(string | typeof ANY_KEY | typeof EACH_ELEMENT)[], string];

interface Container {
  kind: "object" | "array";
  /** Whether this container lies on the path (its own path is a prefix of it). */
  onPath: boolean;
  /** Objects only: the next string is a key. */
  expectingKey: boolean;
  key: string | null;
}

/**
 * Appends `?jwt=…` to each string at `path` — `exports[].url` of web.json (#6), and
 * `items.<format>[].url` of the image playlist (#1) — and nowhere else.
 *
 * The edit is made in place in the text instead of parse + JSON.stringify: the backend
 * re-serializes with pydantic, which prints floats ryu-style (`duration_seconds` `60.0`) where
 * JSON.stringify would print `60`; the suffix is ASCII with nothing to escape, so inserting it
 * before the closing quote gives the same bytes as re-serializing the longer string.
 * The input is the stored, already-validated JSON text.
 */
export function presignJsonUrls(json: string, jwt: string, path: JsonUrlPath): string {
  const suffix = presignSuffix(jwt);
  const last = path.length - 1;
  const stack: Container[] = [];
  /** Whether a value entered at the current position lies on the path (a container's own path). */
  const childOnPath = (): boolean => {
    const depth = stack.length - 1;
    const top = stack[depth];
    if (top === undefined) return true; // the root
    if (!top.onPath || depth >= last) return false;
    const step = path[depth];
    return top.kind === "array" ? step === EACH_ELEMENT : step === ANY_KEY || step === top.key;
  };
  let out = "";
  let copiedTo = 0;
  let i = 0;
  while (i < json.length) {
    const c = json.charCodeAt(i);
    const top = stack[stack.length - 1];
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      stack.push({ kind: c === 0x7b ? "object" : "array", onPath: childOnPath(), expectingKey: c === 0x7b, key: null });
      i++;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      i++;
    } else if (c === 0x2c /* , */) {
      if (top?.kind === "object") top.expectingKey = true;
      i++;
    } else if (c === 0x22 /* " */) {
      let end = i + 1;
      let escaped = false;
      while (end < json.length) {
        const d = json.charCodeAt(end);
        if (d === 0x5c) escaped = true;
        else if (d === 0x22) break;
        end++;
        if (d === 0x5c) end++; // skip the escaped character
      }
      if (top?.kind === "object" && top.expectingKey) {
        const raw = json.slice(i, end + 1);
        top.key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        top.expectingKey = false;
      } else if (top?.kind === "object" && top.onPath && stack.length - 1 === last && top.key === path[last]) {
        out += json.slice(copiedTo, end) + suffix;
        copiedTo = end;
      }
      i = end + 1;
    } else {
      i++;
    }
  }
  return out + json.slice(copiedTo);
}

const NEWLINE = 0x0a;
const HASH = 0x23;

/**
 * The backend's `M3UPresigner` (`content_files/helper.py`), reduced to its effect: within each
 * `\n`-terminated line, a line whose first byte is not `#` and which is not just `\n` gets the
 * suffix inserted before its `\n` (so `…\r\n` becomes `…\r?jwt=…\n`); a last line without
 * `\n` is left as is.
 */
export interface M3uPresigner {
  push(chunk: Uint8Array): Uint8Array[];
}

export function createM3uPresigner(jwt: string): M3uPresigner {
  const suffix = encoder.encode(`${presignSuffix(jwt)}\n`);
  let startOfLine = true;
  let needsPresign = false;
  return {
    push(chunk) {
      const out: Uint8Array[] = [];
      let from = 0;
      let at = 0;
      while (at < chunk.length) {
        if (startOfLine) {
          const first = chunk[at] as number;
          needsPresign = first !== HASH && first !== NEWLINE;
          startOfLine = false;
        }
        const newline = chunk.indexOf(NEWLINE, at);
        if (newline < 0) break;
        if (needsPresign) {
          if (newline > from) out.push(chunk.subarray(from, newline));
          out.push(suffix);
          from = newline + 1;
        }
        startOfLine = true;
        at = newline + 1;
      }
      if (from < chunk.length) out.push(chunk.subarray(from));
      return out;
    },
  };
}
