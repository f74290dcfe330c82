import type { Statements } from "./statements.ts";
import type { ApprovalsRepository, RunsRepository } from "../repositories.ts";
import type { Run } from "../types.ts";

/** Approvals kept on the preview runs themselves: awaiting_approval, then approved, rejected or superseded. */
export class SqliteApprovals implements ApprovalsRepository {
  private readonly runs: RunsRepository;
  private readonly db: Statements;

  constructor(db: Statements, runs: RunsRepository) {
    this.db = db;
    this.runs = runs;
  }

  pending(stack: string): Run[] {
    return this.runs.list({ stack, status: "awaiting_approval" });
  }

  approve(runId: string, by: string): void {
    this.runs.setStatus(runId, "approved");
    this.db.prepare("UPDATE runs SET approved_by = ? WHERE id = ?").run(by, runId);
  }

  reject(runId: string, by: string): void {
    this.runs.setStatus(runId, "rejected", `rejected by ${by}`);
  }

  supersede(runId: string, reason: string): void {
    this.runs.setStatus(runId, "superseded", reason);
  }
}
