#!/usr/bin/env node
// `npm run token -- <kind> <sub>`: prints a dev token signed with the secrets from `.dev.vars`
// (or `.dev.vars.example`), so curl can talk to `npm start`. Claims follow the backend
// (docs/block-format.md §4: sub, iss, aud, iat = now − 1, exp = now + 1800) and docs/design.md §4/§8 for the edge's
// own tokens. Kinds: id, admin, image, content, transcript, journey, prompt, values (the edge's
// values token, for calling the origin's values endpoint by hand).
import { SignJWT } from "jose";
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ADMIN_TOKEN_AUDIENCE } from "../shared/admin-client.ts";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const RESOURCE_SECONDS = 1800; // the backend's default resource JWT lifetime
const ID_SECONDS = 3600;
const SERVICE_SECONDS = 300; // edge admin / values tokens: short-lived service tokens

const KINDS = {
  id: { secret: "OSEH_ID_TOKEN_SECRET", aud: "oseh-id", seconds: ID_SECONDS, jti: true },
  admin: { secret: "EDGE_ADMIN_JWT_SECRET", aud: ADMIN_TOKEN_AUDIENCE, seconds: SERVICE_SECONDS },
  image: { secret: "OSEH_IMAGE_FILE_JWT_SECRET", aud: "oseh-image", seconds: RESOURCE_SECONDS },
  content: { secret: "OSEH_CONTENT_FILE_JWT_SECRET", aud: "oseh-content", seconds: RESOURCE_SECONDS },
  transcript: { secret: "OSEH_TRANSCRIPT_JWT_SECRET", aud: "oseh-transcript", seconds: RESOURCE_SECONDS },
  journey: { secret: "OSEH_JOURNEY_JWT_SECRET", aud: "oseh-journey", seconds: RESOURCE_SECONDS },
  prompt: { secret: "OSEH_INTERACTIVE_PROMPT_JWT_SECRET", aud: "oseh-interactive-prompt", seconds: RESOURCE_SECONDS },
  values: { secret: "EDGE_ORIGIN_JWT_SECRET", aud: "oseh-edge-values", seconds: SERVICE_SECONDS - 1 },
};

function usage(message) {
  if (message) console.error(message);
  console.error(`usage: npm run token -- <${Object.keys(KINDS).join("|")}> <sub>`);
  process.exit(2);
}

function readVars() {
  for (const name of [".dev.vars", ".dev.vars.example"]) {
    const path = join(root, name);
    if (!existsSync(path)) continue;
    const vars = {};
    for (const line of readFileSync(path, "utf8").split("\n")) {
      const m = /^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m) vars[m[1]] = m[2].replace(/^"(.*)"$/, "$1");
    }
    return vars;
  }
  usage("no .dev.vars or .dev.vars.example found");
}

const [kind, sub] = process.argv.slice(2);
const spec = KINDS[kind];
if (!spec) usage(kind ? `unknown kind: ${kind}` : undefined);
if (!sub) usage("missing <sub>");
const secret = readVars()[spec.secret];
if (!secret) usage(`${spec.secret} is not set`);

const now = Math.floor(Date.now() / 1000);
const claims = { sub, iss: "oseh", aud: spec.aud, iat: now - 1, exp: now + spec.seconds };
if (spec.jti) claims.jti = randomUUID();
const token = await new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
process.stdout.write(token + "\n");
