// JSON request bodies, read by the handler rather than by a validator the route library installs: a body of another
// type, beyond its size, not UTF-8 or not JSON is then a problem of the catalog naming the body, like every other
// invalid request, and no body is read past its bound.
import type { Context } from "hono";
import type { z } from "zod";
import { concatBytes } from "../bytes.ts";
import { parseJsonText } from "../json-text.ts";
import type { AppEnv } from "./context.ts";
import { type ProblemFieldError, ProblemError, problems } from "./problem.ts";

const JSON_TYPE = "application/json";

/** The request's JSON body, at most `maxBytes`, validated by `schema`. */
export async function readJsonBody<S extends z.ZodType>(c: Context<AppEnv>, schema: S, maxBytes: number): Promise<z.output<S>> {
  return validJsonBody(schema, await readJsonValue(c, maxBytes));
}

/** The request's JSON body as parsed, not validated yet: for a handler that also needs what the client wrote (a patch's given names). */
export async function readJsonValue(c: Context<AppEnv>, maxBytes: number): Promise<unknown> {
  checkContentType(c.req.header("content-type"));
  const text = await readText(c.req.raw, maxBytes);
  if (text.trim() === "") throw invalidBody("(body)", "is empty; send a JSON object");
  const parsed = parseJsonText(text);
  if (!parsed.ok) throw invalidBody("(body)", parsed.message);
  return parsed.value;
}

/** A JSON body validated by `schema`, each issue a problem naming its place in the body. */
export function validJsonBody<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw problems.validation(
    result.error.issues.map((issue): ProblemFieldError => ({ location: "body", name: issue.path.map(String).join(".") || "(body)", message: issue.message })),
  );
}

/** application/json, in UTF-8 (the only encoding JSON has between systems, RFC 8259 §8.1). */
function checkContentType(header: string | undefined): void {
  const [type = "", ...params] = (header ?? "").split(";");
  const charsets = params.map((p) => p.trim().toLowerCase()).filter((p) => p.startsWith("charset="));
  const utf8 = charsets.every((p) => ["charset=utf-8", 'charset="utf-8"', "charset=utf8"].includes(p));
  if (type.trim().toLowerCase() === JSON_TYPE && utf8 && charsets.length <= 1) return;
  throw problems.unsupportedMediaType(`Send the body as ${JSON_TYPE} (UTF-8); the request's Content-Type is "${header ?? "(none)"}".`, [JSON_TYPE]);
}

function invalidBody(name: string, message: string): ProblemError {
  return problems.validation([{ location: "body", name, message }]);
}

/** The body as text, refused once it passes `maxBytes` (whatever Content-Length said). */
async function readText(request: Request, maxBytes: number): Promise<string> {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > maxBytes) throw problems.tooLarge("The request body", maxBytes);
  const reader = request.body?.getReader();
  if (!reader) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    size += next.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw problems.tooLarge("The request body", maxBytes);
    }
    parts.push(next.value);
  }
  const bytes = concatBytes(parts, size);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw invalidBody("(body)", "is not UTF-8");
  }
}
