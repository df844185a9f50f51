// A row source's own state as the job stores it: read back through the source's schema, so a state it did not write
// fails the job with a clear reason, and carried over from the columns it was kept in before migration 0011.
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { consumerEnv, createQueuedJob, csvRows, deliver, importDirect, jobRecord, productRecords, snapshot } from "../consumer-helpers.ts";
import { createTenant } from "../helpers.ts";
import { exportFile, SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS } from "../preset-exports.ts";

// 2 rows per D1 batch and per slice: a Shopify export's slice ends mid-product, so the next one needs the carried cells.
const BUDGET = { IMPORT_CHUNK_ROWS: "2", IMPORT_SLICE_ROWS: "2" } as const;

const sourceStateOf = async (jobId: string): Promise<unknown> => JSON.parse((await jobRecord(jobId)).source_state ?? "null");

describe("a row source's saved state", () => {
  it("fails the job with a clear reason, keeping what was imported, when it does not read back as the source wrote it", async () => {
    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, csvRows(10));
    const consumer = consumerEnv(BUDGET);
    await deliver(consumer.env, { jobId, checkpointByte: 0 });
    expect(consumer.sent).toHaveLength(1);
    await env.DB.prepare(`UPDATE import_jobs SET source_state = '{"columns":"sku","delimiter":","}' WHERE id = ?`).bind(jobId).run();

    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      const { result, messageId } = await deliver(consumer.env, consumer.sent[0]);
      // Retrying cannot read it either: the message is acked, and no continuation is sent.
      expect(result.explicitAcks).toEqual([messageId]);
      expect(result.retryMessages).toEqual([]);
      expect(consumer.sent).toHaveLength(1);
      const lines = logged.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
      expect(lines).toEqual([{ level: "error", msg: "unreadable source state", job_id: jobId, error: expect.stringMatching(/^columns: /) }]);
    } finally {
      logged.mockRestore();
    }
    const job = await jobRecord(jobId);
    expect(job).toMatchObject({ status: "failed", processed_rows: 2, created: 2 });
    expect(job.failure_reason).toBe(
      "The import could not resume where it stopped: what it saved of how to read the file could not be read back. " +
        "The 2 rows counted as processed were imported; upload the file again to import the rest.",
    );
    expect((await productRecords(t.tenantId)).map((p) => p.sku)).toEqual(["A-01", "A-02"]);
  });
});

describe("migration 0011 (the CSV source's state in one column)", () => {
  const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0011_"));

  /**
   * Puts back the columns 0011 drops, as 0010 left them, and stores the in-flight job's state in them as the code
   * before wrote it; the finished job keeps its columns and carried cells, as the code before left them.
   */
  async function asBefore0011(inFlight: string, finished: string) {
    await env.DB.batch([env.DB.prepare("ALTER TABLE import_jobs ADD columns text"), env.DB.prepare("ALTER TABLE import_jobs ADD delimiter text")]);
    const state = (await sourceStateOf(inFlight)) as { columns: unknown; delimiter: string; preset: string | null; carried: unknown };
    await env.DB.batch([
      env.DB.prepare("UPDATE import_jobs SET columns = ?, delimiter = ?, preset = ?, source_state = ? WHERE id = ?").bind(
        JSON.stringify(state.columns),
        state.delimiter,
        state.preset,
        state.carried === null ? null : JSON.stringify(state.carried),
        inFlight,
      ),
      env.DB.prepare(`UPDATE import_jobs SET columns = '["sku"]', delimiter = ',', source_state = '{"handle":"h"}' WHERE id = ?`).bind(finished),
    ]);
    return state;
  }

  it("carries a job stopped between two slices over to its new state: it resumes and ends as an undisturbed import", async () => {
    expect(migration?.queries.length).toBeGreaterThan(0);
    const file = exportFile(SHOPIFY_CLASSIC_HEADER, SHOPIFY_ROWS);
    const reference = await importDirect((await createTenant()).tenantId, file);

    const t = await createTenant();
    const jobId = await createQueuedJob(t.tenantId, file);
    const consumer = consumerEnv(BUDGET);
    await deliver(consumer.env, { jobId, checkpointByte: 0 });
    expect(consumer.sent).toHaveLength(1);
    // A finished job's state is never read again: the migration clears it.
    const finished = await importDirect((await createTenant()).tenantId, file);
    const state = await asBefore0011(jobId, finished.jobId);
    expect(state).toMatchObject({ preset: "shopify", delimiter: ",", carried: { handle: "example-t-shirt" } });

    for (const query of migration?.queries ?? []) await env.DB.prepare(query).run();

    expect(await sourceStateOf(jobId)).toEqual(state);
    expect((await jobRecord(finished.jobId)).source_state).toBeNull();
    expect(await jobRecord(jobId)).not.toHaveProperty("columns");
    const pending = [...consumer.sent];
    for (let message = pending.shift(); message; message = pending.shift()) {
      const before = consumer.sent.length;
      const { result, messageId } = await deliver(consumer.env, message);
      expect(result.explicitAcks).toEqual([messageId]);
      pending.push(...consumer.sent.slice(before));
    }
    expect(await snapshot(t.tenantId, jobId)).toEqual({ ...reference.snapshot, jobId });
  });
});
