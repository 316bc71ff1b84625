// Typed calls to the helicone-filter service from TypeScript, with the types that
// openapi-typescript writes of the service's OpenAPI document (GET /openapi.json).
//
// Type-checked, never run: tests/test_contract.py writes the document, generates `api.ts`
// from it beside a copy of this file, and runs `tsc --noEmit --strict` on both. Each typed
// line below holds only while the schema says exactly that; each `@ts-expect-error` holds
// only while the schema refuses the mistake under it, so a loose schema (`any`, a property
// made optional that is always there) fails the check too.

import type { components, paths } from "./api";

type Schemas = components["schemas"];

type PostPath = {
  [P in keyof paths]: paths[P] extends { post: object } ? P : never;
}[keyof paths];
type Operation<P extends PostPath> = paths[P] extends { post: infer O } ? O : never;
type RequestOf<P extends PostPath> =
  Operation<P> extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type AnswerOf<P extends PostPath> =
  Operation<P> extends { responses: { 200: { content: { "application/json": infer A } } } }
    ? A
    : never;

/** An answer other than 200: every error of the service has the same body. */
export class ServiceError extends Error {
  readonly status: number;
  readonly body: Schemas["Error"];

  constructor(status: number, body: Schemas["Error"]) {
    super(body.error.message);
    this.status = status;
    this.body = body;
  }
}

export async function post<P extends PostPath>(
  base: string,
  path: P,
  body: RequestOf<P>,
): Promise<AnswerOf<P>> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new ServiceError(response.status, (await response.json()) as Schemas["Error"]);
  }
  return (await response.json()) as AnswerOf<P>;
}

/** A FilterNode in a few words: the node is typed all the way down. */
export function describe(node: Schemas["FilterNode"]): string {
  if (node === "all") {
    return "all";
  }
  if ("left" in node) {
    const joined: "and" | "or" = node.operator;
    return `(${describe(node.left)} ${joined} ${describe(node.right)})`;
  }
  const model: string | undefined = node.request_response_rmt?.model?.equals;
  const cost: number | undefined = node.users_view?.user_cost?.gt;
  if (model !== undefined) {
    return `model = ${model}`;
  }
  return cost !== undefined ? `user_cost > ${cost}` : "another leaf";
}

export async function compile(base: string, text: string): Promise<string> {
  try {
    const answer = await post(base, "/compile", { text, nesting: "right" });
    const span = answer.spans[0];
    const startUtf16: number = span.start_utf16;
    const endUtf16: number = span.end_utf16;
    const steps: ("left" | "right")[] = span.path;
    // @ts-expect-error: a span has no `offset`
    const offset = span.offset;
    const where = `${startUtf16}-${endUtf16} (${steps.join(".")})`;
    return `${describe(answer.json)}; the first leaf at ${where} ${offset}`;
  } catch (e) {
    if (e instanceof ServiceError && e.status === 422) {
      const problem: Schemas["Problem"] = e.body.error.problems[0];
      const at: number = problem.start_utf16;
      const severity: "error" | "warning" = problem.severity;
      const path: string | null = problem.path;
      const fix: string | undefined = problem.fixes[0]?.replacement;
      return `${severity} at ${at} (${path ?? "text"}): ${problem.message}; ${fix ?? ""}`;
    }
    throw e;
  }
}

export async function mistakes(base: string): Promise<void> {
  // @ts-expect-error: /compile needs `text`
  await post(base, "/compile", { nesting: "right" });
  // @ts-expect-error: `nesting` is "balanced" or "right"
  await post(base, "/compile", { text: "cached", nesting: "deep" });
  // @ts-expect-error: `cursor_utf16` is a number
  await post(base, "/complete", { text: "mod", cursor_utf16: "3" });
  // @ts-expect-error: `model` takes text operators, and `gt` is none of them
  await post(base, "/sql", { text: { request_response_rmt: { model: { gt: 5 } } } });
  // @ts-expect-error: `tz_offset` is a number of minutes
  await post(base, "/query", { text: "all", tz_offset: "+02:00" });
}

export async function diagnose(base: string, text: string): Promise<string[]> {
  const answer = await post(base, "/diagnose", { text, now: "2025-06-01T12:00:00Z" });
  const first = answer.diagnostics[0];
  const fix: Schemas["Fix"] = first.fixes[0];
  const replaced: string = fix.replacement;
  const from: number = fix.start_utf16;
  // @ts-expect-error: a diagnostic has no `line` (a problem of /check has)
  const line = first.line;
  return [first.code, first.severity, first.hint, replaced, `${from}`, `${line}`];
}

export async function complete(base: string, text: string, cursorUtf16: number): Promise<string> {
  const answer = await post(base, "/complete", {
    text,
    cursor_utf16: cursorUtf16,
    map_keys: { properties: ["env", "team"] },
  });
  const item = answer.completions[0];
  const kind: "field" | "operator" | "value" | "keyword" | "punctuation" = item.kind;
  const from: number = item.replace_start_utf16;
  const to: number = item.replace_end_utf16;
  return `${kind} ${item.label}: ${text.slice(0, from)}${item.insert_text}${text.slice(to)}`;
}

export async function sql(base: string): Promise<string> {
  const node: Schemas["FilterNode"] = {
    left: { request_response_rmt: { model: { equals: "gpt-4", "not-equals": "gpt-3" } } },
    operator: "and",
    right: { users_view: { user_cost: { gte: 0.5 } } },
  };
  const answer = await post(base, "/sql", {
    text: node,
    table_map: { request_response_rmt: "requests" },
    target: "rows",
  });
  const statement: string = answer.sql;
  const p0: string | number | boolean = answer.params["p0"];
  const warnings: ("error" | "warning")[] = answer.warnings.map((w) => w.severity);
  return `${statement} ${p0} ${warnings}`;
}

export async function query(base: string): Promise<string> {
  const answer = await post(base, "/query", {
    text: 'user_cost > 5 and model = "gpt-4"',
    limit: 10,
    offset: 20,
    sort: { cost: "desc" },
    since: "now - 7d",
    tz_offset: -120,
  });
  const body: Schemas["UserMetricsQueryParams"] = answer.body;
  const start: number | undefined = body.timeFilter?.startTimeUnixSeconds;
  const limit: number = body.limit;
  return `${describe(body.filter)}, ${limit} users from ${start ?? "the start"}`;
}
