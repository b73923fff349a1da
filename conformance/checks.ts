/**
 * The conformance checks as pure functions over what an origin answered (docs/integrate.md §6):
 * each takes an `Observed` response and returns one `Check` — a name a backend engineer can
 * search the guide for, pass or fail, and what was seen. No I/O here; ./run.ts does the fetching.
 */
import { computeExpiresAt, parseExpiresAtHeader, parseKey, validateValueDeep, type FamilyEntry } from "../src/keys";
import { EDGE_RENDER_MEDIA_TYPE, MAX_DELEGATION_BYTES, mediaTypeOf, parseDelegation, templateProblem, type Delegation } from "../src/origin/delegation";
import { DELEGATION_ACK_HEADER } from "../src/origin/tokens";
import { renderValue } from "../src/render/stream";

export interface Observed {
  status: number;
  /** Lowercased names. */
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export const VALUE_STATE_HEADER = "x-edge-value";
export const EXPIRES_AT_HEADER = "x-edge-expires-at";
/** An origin's clock may run this far ahead of the checker's when it stamps an expiry. */
export const CLOCK_SKEW_SECONDS = 5;

const pass = (name: string, detail: string): Check => ({ name, ok: true, detail });
const fail = (name: string, detail: string): Check => ({ name, ok: false, detail });

function summary(observed: Observed): string {
  const type = observed.headers["content-type"];
  return `${observed.status}${type === undefined ? "" : ` ${type}`}`;
}

/** The values endpoint must refuse `what` with 401 (no token) or 403 (any other bad token). */
export function checkRefused(name: string, observed: Observed, expected: 401 | 403): Check {
  if (observed.status === expected) return pass(name, `${observed.status}`);
  if (observed.status === 401 || observed.status === 403) return pass(name, `${observed.status} (${expected} expected, still a refusal)`);
  return fail(name, `answered ${summary(observed)}; must refuse with ${expected}`);
}

/** A valid values token must get through (else every refusal above proves nothing). */
export function checkAccepted(name: string, observed: Observed): Check {
  return observed.status === 401 || observed.status === 403
    ? fail(name, `refused a valid values token (${observed.status}): is EDGE_ORIGIN_JWT_SECRET the origin's, and its clock right?`)
    : pass(name, `${observed.status}`);
}

/**
 * The latest `X-Edge-Expires-At` a family's own rule allows for a value written at `now`, or
 * undefined when the origin's time is taken as it is (absolute and collab families).
 */
export function latestExpiry(family: FamilyEntry, now: number): number | undefined {
  const kind = family.expiry.kind;
  if (kind !== "fixed" && kind !== "random" && kind !== "la-midnight") return undefined;
  // The longest draw of a random lifetime; fixed and LA-midnight ignore it.
  const longest = computeExpiresAt(family, now, { collabMaxSeconds: 1, random: () => 1 });
  return longest.ok ? longest.expiresAt : undefined;
}

/** `X-Edge-Expires-At`, when sent: decimal unix seconds, after `now`, within the family's rule. */
export function expiryProblem(family: FamilyEntry, header: string | undefined, now: number): string | null {
  if (header === undefined) return null;
  const parsed = parseExpiresAtHeader(header);
  if (!parsed.ok || parsed.expiresAt === undefined) return `X-Edge-Expires-At ${JSON.stringify(header)} is not decimal unix seconds`;
  const at = parsed.expiresAt;
  if (at <= now) return `X-Edge-Expires-At ${at} is not in the future (now ${Math.floor(now)})`;
  const latest = latestExpiry(family, now);
  if (latest !== undefined && at > latest + CLOCK_SKEW_SECONDS) {
    return `X-Edge-Expires-At ${at} is later than ${family.name}'s rule allows (${family.expiry.kind}: at most ${latest})`;
  }
  return null;
}

/**
 * One `--key`: a 200 whose bytes pass the family's codec (gzip inflated, blocks framed, templates
 * renderable) with a sane expiry; or `404` + `X-Edge-Value: absent`; or not served (bare 404, 501).
 */
export async function checkValue(key: string, observed: Observed, now: number): Promise<Check> {
  const name = `value ${key}`;
  const parsed = parseKey(key);
  if (!parsed.ok) return fail(name, `not a key of any family: ${parsed.failure.message}`);
  const family = parsed.value.family;
  switch (observed.status) {
    case 200: {
      const valid = await validateValueDeep(family.codec, observed.body);
      if (!valid.ok) return fail(name, `${observed.body.length} bytes fail the ${family.codec.name} codec: ${valid.reason}`);
      const unrenderable = templateProblem(family.name, observed.body);
      if (unrenderable !== null) return fail(name, `the template does not render: ${unrenderable}`);
      const expiry = expiryProblem(family, observed.headers[EXPIRES_AT_HEADER], now);
      if (expiry !== null) return fail(name, expiry);
      const expires = observed.headers[EXPIRES_AT_HEADER];
      return pass(name, `200, ${observed.body.length} bytes, ${family.codec.name}${expires === undefined ? "" : `, expires ${expires}`}`);
    }
    case 404:
      return observed.headers[VALUE_STATE_HEADER] === "absent"
        ? pass(name, "404 absent (the family is served; this key has no value)")
        : pass(name, "not served (404 without X-Edge-Value: absent): the edge passes its routes through");
    case 501:
      return pass(name, "not served (501): the edge passes its routes through");
    default:
      return fail(name, `answered ${summary(observed)}; expected 200, 404 (+ X-Edge-Value: absent) or 501`);
  }
}

export function isDelegationAnswer(observed: Observed): boolean {
  return mediaTypeOf(observed.headers["content-type"] ?? null) === EDGE_RENDER_MEDIA_TYPE;
}

/** A request the origin must answer itself: anything but a delegation document. */
export function checkNotDelegated(name: string, observed: Observed): Check {
  return isDelegationAnswer(observed)
    ? fail(name, `delegated (${summary(observed)}): an origin may delegate only to a proxy token bound to this method and path`)
    : pass(name, `answered itself (${summary(observed)})`);
}

/**
 * The delegation document of an answer to a bound proxy token whose `jti` is `jti`, or the reason
 * it is not one. The edge renders a document only when it acknowledges that jti.
 */
export function delegationOf(observed: Observed, jti: string): { ok: true; delegation: Delegation } | { ok: false; problem: string } {
  if (!isDelegationAnswer(observed)) return { ok: false, problem: `no delegation: answered ${summary(observed)} to a bound proxy token` };
  const ack = observed.headers[DELEGATION_ACK_HEADER.toLowerCase()];
  if (ack !== jti) {
    return { ok: false, problem: `${DELEGATION_ACK_HEADER} is ${ack === undefined ? "missing" : JSON.stringify(ack)}, not the proxy token's jti: the edge would pass the document to the client unrendered` };
  }
  if (observed.status < 200 || observed.status > 299) return { ok: false, problem: `a delegation with status ${observed.status}; the client would get that status over a rendered body` };
  if (observed.body.length > MAX_DELEGATION_BYTES) return { ok: false, problem: `the document is ${observed.body.length} bytes, over ${MAX_DELEGATION_BYTES}` };
  const parsed = parseDelegation(observed.body);
  return parsed.ok ? parsed : { ok: false, problem: `the document is refused (${parsed.problem.reason}): ${parsed.problem.message}` };
}

/** A resource signer that mints placeholders: the check is that the template renders, not the JWTs. */
const placeholderSigner = { mint: async () => "conformance.placeholder.jwt" };

/**
 * Renders the delegated template the way the edge would (prefix + value + suffix) and checks the
 * result is one JSON document. `template` is the values endpoint's answer for the document's key.
 */
export async function checkRenders(name: string, delegation: Delegation, template: Observed, now: number): Promise<Check> {
  if (template.status !== 200) return fail(name, `the values endpoint answered ${summary(template)} for ${delegation.key}; a delegated template must be served`);
  const value = await checkValue(delegation.key, template, now);
  if (!value.ok) return fail(name, value.detail);
  const wrappers = { ...(delegation.prefix === undefined ? {} : { prefix: delegation.prefix }), ...(delegation.suffix === undefined ? {} : { suffix: delegation.suffix }) };
  const rendered = renderValue(
    template.body,
    delegation.kind === "journey"
      ? { kind: "journey", journeyJwt: delegation.journeyJwt, signer: placeholderSigner, now: () => now, ...wrappers }
      : { kind: "prompt", sessionUid: delegation.sessionUid, promptJwt: delegation.promptJwt, ...wrappers },
  );
  if (!rendered.ok) return fail(name, `${delegation.key} does not render: ${rendered.failure.message}`);
  const text = await new Response(rendered.body).text();
  try {
    JSON.parse(text);
  } catch {
    return fail(name, `${delegation.key} renders ${text.length} characters that are not one JSON document (check prefix/suffix)`);
  }
  return pass(name, `${delegation.key} renders ${text.length} characters of JSON`);
}
