/**
 * /v1/wasm/plugins (the seed's API): register by multipart upload, list, get, delete, enable
 * or disable (PATCH), and test. Multipart is @fastify/multipart's (busboy), with every limit
 * set: one file of at most the module size limit, a few small fields, few parts.
 */
import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { WardenError } from "../../core/errors.js";
import { MAX_MODULE_BYTES, type RegisterInput } from "../../rules/registry/index.js";
import { ADMIN_DEFAULTS } from "../config-types.js";
import type { AdminContext } from "../context.js";
import { sendError } from "../reply.js";

const FIELDS = new Set(["name", "description", "memory_limit_bytes", "timeout_ms", "enabled"]);

function bad(message: string): WardenError {
  return new WardenError("admin_bad_request", message, { category: "usage" });
}

function limit(field: string, v: string | undefined): number | undefined {
  if (v === undefined || v === "") return undefined;
  if (!/^\d{1,12}$/.test(v))
    throw new WardenError(
      "invalid_limit",
      `${field} must be a whole number (got ${JSON.stringify(v.slice(0, 40))}); memory_limit_bytes: 64 KiB to 256 MiB, timeout_ms: 1 to 30000`,
      { category: "usage", details: { limit: field } },
    );
  return Number(v);
}

function bool(field: string, v: string | undefined): boolean | undefined {
  if (v === undefined || v === "") return undefined;
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw bad(`${field} must be true or false (got ${JSON.stringify(v.slice(0, 40))})`);
}

/** Read the multipart form: the fields known, exactly one wasm_file. */
async function readForm(req: FastifyRequest): Promise<RegisterInput> {
  if (!req.isMultipart())
    throw bad(
      "POST /v1/wasm/plugins takes multipart/form-data (curl -F name=... -F wasm_file=@...)",
    );
  const fields = new Map<string, string>();
  let bytes: Buffer | undefined;
  for await (const part of req.parts()) {
    if (part.type === "file") {
      if (part.fieldname !== "wasm_file") {
        part.file.resume();
        throw bad(
          `unexpected file field ${JSON.stringify(part.fieldname)}; send the module as wasm_file`,
        );
      }
      bytes = await part.toBuffer();
      continue;
    }
    if (!FIELDS.has(part.fieldname))
      throw bad(
        `unknown field ${JSON.stringify(part.fieldname.slice(0, 64))}; known: name, wasm_file, ${[...FIELDS].slice(1).join(", ")}`,
      );
    if (fields.has(part.fieldname)) throw bad(`field ${part.fieldname} is given twice`);
    if (part.valueTruncated)
      throw new WardenError(
        "admin_too_large",
        `field ${part.fieldname} is longer than ${ADMIN_DEFAULTS.multipartFieldBytes} bytes`,
        { category: "usage" },
      );
    fields.set(part.fieldname, String(part.value));
  }
  const name = fields.get("name");
  if (name === undefined) throw bad("the name field is missing");
  if (bytes === undefined) throw bad("the wasm_file field (the module) is missing");
  const memory = limit("memory_limit_bytes", fields.get("memory_limit_bytes"));
  const timeout = limit("timeout_ms", fields.get("timeout_ms"));
  const enabled = bool("enabled", fields.get("enabled"));
  const description = fields.get("description");
  return {
    name,
    bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ...(description === undefined ? {} : { description }),
    ...(memory === undefined ? {} : { memory_limit_bytes: memory }),
    ...(timeout === undefined ? {} : { timeout_ms: timeout }),
    ...(enabled === undefined ? {} : { enabled }),
  };
}

const NAME_PARAM = {
  type: "object",
  properties: { name: { type: "string" } },
  required: ["name"],
} as const;

export async function pluginRoutes(
  app: FastifyInstance,
  ctx: AdminContext,
  enabled = true,
): Promise<void> {
  if (!enabled)
    app.addHook("onRequest", async (_req, reply) => {
      await sendError(
        reply.header("connection", "close"),
        "admin_unavailable",
        "WebAssembly plugins are off in this process: set wasm: { enabled: true } in warden.yaml",
      );
      return reply;
    });
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: {
      fileSize: MAX_MODULE_BYTES,
      files: 1,
      fields: ADMIN_DEFAULTS.multipartFields,
      fieldSize: ADMIN_DEFAULTS.multipartFieldBytes,
      fieldNameSize: 64,
      parts: ADMIN_DEFAULTS.multipartParts,
      headerPairs: 16,
    },
  });
  const reg = ctx.registry;

  app.post("/v1/wasm/plugins", async (req, reply) => {
    const input = await readForm(req);
    const out = await reg.register(input);
    return reply.code(201).send(out);
  });

  app.get("/v1/wasm/plugins", async () => {
    const plugins = reg.list();
    return { plugins, count: plugins.length };
  });

  app.get<{ Params: { name: string } }>(
    "/v1/wasm/plugins/:name",
    { schema: { params: NAME_PARAM } },
    async (req) => reg.info(req.params.name),
  );

  app.delete<{ Params: { name: string } }>(
    "/v1/wasm/plugins/:name",
    { schema: { params: NAME_PARAM } },
    async (req, reply) => {
      await reg.delete(req.params.name);
      return reply.code(204).send();
    },
  );

  app.patch<{ Params: { name: string }; Body: { enabled: boolean } }>(
    "/v1/wasm/plugins/:name",
    {
      schema: {
        params: NAME_PARAM,
        body: {
          type: "object",
          properties: { enabled: { type: "boolean" } },
          required: ["enabled"],
          additionalProperties: false,
        },
      },
    },
    async (req) => reg.setEnabled(req.params.name, req.body.enabled),
  );

  app.post<{ Params: { name: string }; Body: { function?: string; input?: unknown } }>(
    "/v1/wasm/plugins/:name/test",
    {
      schema: {
        params: NAME_PARAM,
        body: {
          type: "object",
          properties: {
            function: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_.$-]{0,127}$" },
            input: {},
          },
          additionalProperties: false,
        },
      },
    },
    async (req) => {
      const body = req.body ?? {};
      const r = reg.test(req.params.name, body.input ?? {}, body.function ?? "evaluate");
      return {
        verdict: r.verdict,
        message: r.message ?? null,
        metadata: r.metadata ?? {},
        duration_us: r.duration_us,
        memory_used_bytes: r.memory_used_bytes,
        ...(r.log === undefined ? {} : { log: r.log }),
      };
    },
  );
}
