import type { ApprovalsRepository, RunsRepository } from "../repositories.ts";
import type { Run } from "../types.ts";

/** Approvals kept on the preview runs themselves: awaiting_approval, then approved or superseded. */
export class SqliteApprovals implements ApprovalsRepository {
  private readonly runs: RunsRepository;

  constructor(runs: RunsRepository) {
    this.runs = runs;
  }

  pending(stack: string): Run[] {
    return this.runs.list({ stack, status: "awaiting_approval" });
  }

  approve(runId: string): void {
    this.runs.setStatus(runId, "approved");
  }

  supersede(runId: string, reason: string): void {
    this.runs.setStatus(runId, "superseded", reason);
  }
}
