/**
 * A deliberately broken origin, for the conformance checker's failing CI run. Everything else is
 * right, so each defect shows up as its own failed check:
 *
 * 1. the values endpoint takes a token of any audience (a proxy token reads values);
 * 2. a gzip family (`image_files:playlist:{uid}`) is sent as plain JSON;
 * 3. a template (`journeys:external:{uid}`) passes the blocks codec but does not frame (an image
 *    marker without a uid);
 * 4. `POST /api/1/users/me/start_ai_journey` delegates to any request, token or not.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, jwtVerify } from "jose";

export const BROKEN_DELEGATED_KEY = "interactive_prompts:external:oseh_ip_brokenFixture01";

const VALUES_PREFIX = "/api/1/edge/values/";

/** One block: u32 big-endian length, a type byte, the value (docs/block-format.md). */
function block(type: number, text = ""): Buffer {
  const value = Buffer.from(text, "utf8");
  const header = Buffer.alloc(5);
  header.writeUInt32BE(value.length, 0);
  header.writeUInt8(type, 4);
  return Buffer.concat([header, value]);
}

/** Defect 3: a journey image marker (type 3) must carry a uid; this one is empty. */
const UNFRAMED_JOURNEY = Buffer.concat([block(1, '{"background_image":{"jwt":"'), block(3), block(1, '"}}')]);
/** A correct prompt template: both prompt markers are empty and replaced at render time. */
const PROMPT_TEMPLATE = Buffer.concat([block(1, '{"session_uid":"'), block(2), block(1, '","jwt":"'), block(3), block(1, '"}')]);

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer): void {
  res.writeHead(status, headers);
  res.end(body);
}

async function values(req: IncomingMessage, res: ServerResponse, key: string, secret: Uint8Array): Promise<void> {
  const token = req.headers["x-oseh-edge"];
  if (typeof token !== "string") return send(res, 401, { "content-type": "application/json" }, '{"detail":"missing token"}');
  try {
    // Defect 1: issuer and signature and time are checked, the audience is not.
    await jwtVerify(token, secret, { issuer: "oseh", algorithms: ["HS256"] });
  } catch {
    return send(res, 403, { "content-type": "application/json" }, '{"detail":"bad token"}');
  }
  if (key.startsWith("image_files:playlist:")) {
    // Defect 2: the family's codec is gzip-json.
    return send(res, 200, { "content-type": "application/json" }, '{"items":{"jpeg":[]}}');
  }
  if (key.startsWith("journeys:external:")) return send(res, 200, { "content-type": "application/octet-stream" }, UNFRAMED_JOURNEY);
  if (key.startsWith("interactive_prompts:external:")) return send(res, 200, { "content-type": "application/octet-stream" }, PROMPT_TEMPLATE);
  return send(res, 404, { "x-edge-value": "absent" }, "");
}

export interface BrokenOrigin {
  url: string;
  close: () => Promise<void>;
}

export async function startBrokenOrigin(edgeOriginSecret: string): Promise<BrokenOrigin> {
  const secret = new TextEncoder().encode(edgeOriginSecret);
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0] ?? "/";
    // Drain any request body before answering.
    req.resume();
    req.on("end", () => {
      if (req.method === "GET" && path.startsWith(VALUES_PREFIX)) {
        void values(req, res, decodeURIComponent(path.slice(VALUES_PREFIX.length)), secret);
        return;
      }
      if (req.method === "POST" && path === "/api/1/users/me/start_ai_journey") {
        // Defect 4: no token check before delegating.
        const document = { key: BROKEN_DELEGATED_KEY, session_uid: "oseh_ips_brokenFixture01", jwt: "a.b.c" };
        // It does acknowledge the jti of whatever token arrives, so only defect 4 shows.
        const token = req.headers["x-oseh-edge"];
        const jti = typeof token === "string" ? (decodeJwt(token).jti ?? "") : "";
        return send(res, 200, { "content-type": "application/vnd.oseh.edge-render+json", "x-oseh-edge-delegation": jti }, JSON.stringify(document));
      }
      send(res, 404, { "content-type": "application/json" }, '{"detail":"Not Found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}
