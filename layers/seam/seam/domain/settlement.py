"""Settling a training job's task token (or a champion scoring job's) from what SageMaker says of the
job. The callback settles through `settle`, for SageMaker's events and for the reconciler's checks of
quiet trainings alike, so a lost, duplicated or late event can never settle a token twice or overwrite
a terminal status."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from seam.adapters.dynamodb.runs import RunStore
from seam.domain.job_identity import JobIdentity, OwnJobCheck, foreign_job_cause
from seam.domain.orphaned_jobs import is_scoring
from seam.errors import StaleUpdateError, TrainingError
from seam.models.run import utc_now
from seam.models.training_result import TrainingResult

# Named for the signatures only: the callback's handler loads the adapters at init.
if TYPE_CHECKING:
    from seam.adapters.dynamodb.tokens import TokenRecord, TokenStore
    from seam.adapters.workflow import Workflow


class Settlement(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    HEARTBEAT = "heartbeat"
    ALREADY_SETTLED = "already_settled"
    NOT_OURS = "not_ours"  # a job Seam did not start (no token record)
    WAITING = "waiting"  # still starting or stopping: nothing to do yet


TERMINAL_JOB_STATUSES = {"Completed", "Failed", "Stopped"}


class TrainingSettler:
    def __init__(
        self,
        tokens: TokenStore,
        runs: RunStore,
        workflow: Workflow,
        # A job's tags by its ARN (ListTags): a completed job is adopted only when it is the run's own.
        tags_of: Callable[[str], dict[str, str]],
        # Who settles (the SQS message id of the event, "reconciler"): a claim applied by an attempt
        # whose answer was lost is this claimant's to finish (Step Functions rejects a second settlement).
        claimant: str | None = None,
    ) -> None:
        self.tokens, self.runs, self.workflow = tokens, runs, workflow
        self.tags_of, self.claimant = tags_of, claimant

    def settle(
        self,
        job_name: str,
        describe: Callable[[str], dict[str, Any] | None],
        describe_scoring: Callable[[str], dict[str, Any] | None] | None = None,
    ) -> Settlement:
        """Settle `job_name`'s token from DescribeTrainingJob (the truth; events are only hints), or from
        DescribeProcessingJob (`describe_scoring`) when the token is a champion scoring job's
        (seam.domain.champion_scoring). The job is described only when Seam holds an unsettled token for
        it: duplicates, late events and jobs Seam did not start cost one read."""
        token = self.tokens.get(job_name)
        if token is None:
            return Settlement.NOT_OURS
        # A settled token is someone else's, or ours and already sent; only our own claim whose send
        # never completed (a lost response, a crash) is ours to finish.
        if token.settled and (token.sent or not (self.claimant and token.claimed_by == self.claimant)):
            return Settlement.ALREADY_SETTLED
        if is_scoring(token):
            if describe_scoring is None:
                raise TrainingError(
                    f"{job_name} is a processing job: settling it needs DescribeProcessingJob"
                )
            return self._act_scoring(token, job_name, describe_scoring(job_name))
        return self._act(token, job_name, describe(job_name))

    def _act_scoring(
        self, token: TokenRecord, job_name: str, description: dict[str, Any] | None
    ) -> Settlement:
        """A champion scoring job: the same statuses as a training job's; a completed job is adopted
        only when it is the run's own, a failed one ends the run as ChampionUnscorableError."""
        from seam.domain.champion_scoring import ScoringIdentity, scoring_result

        if description is None:
            return self._fail(token, "ChampionUnscorableError", f"processing job {job_name} does not exist")
        status = description["ProcessingJobStatus"]
        if status not in TERMINAL_JOB_STATUSES:
            return self._heartbeat(token) if status == "InProgress" else Settlement.WAITING
        if status != "Completed":
            why = description.get("ExitMessage") or description.get("FailureReason") or f"ended {status}"
            error = "ChampionUnscorableError" if status == "Failed" else "ChampionScoringStopped"
            return self._fail(token, error, f"processing job {job_name} scoring the champion: {why}")
        identity = ScoringIdentity.from_token(token)
        foreign = self._foreign(token, identity, "processing", job_name, description, "ProcessingJobArn")
        return foreign or self._send_success(token, scoring_result(description).model_dump(mode="json"), {})

    def _heartbeat(self, token: TokenRecord) -> Settlement:
        if self.workflow.heartbeat(token.task_token):
            # News of the run: the reconciler checks it again only after `stale_after` more.
            self._record(token.run_id, heartbeat_at=utc_now())
        return Settlement.HEARTBEAT

    def _act(self, token: TokenRecord, job_name: str, description: dict[str, Any] | None) -> Settlement:
        if description is None:
            return self._fail(token, "TrainingJobNotFound", f"training job {job_name} does not exist")
        status = description["TrainingJobStatus"]
        if status == "InProgress":
            return self._heartbeat(token)
        if status not in TERMINAL_JOB_STATUSES:
            return Settlement.WAITING
        if status == "Completed":
            return self._adopt(token, description)
        reason = description.get("FailureReason") or f"training job ended {status}"
        return self._fail(token, f"Training{status}", f"{job_name}: {reason}")

    def _adopt(self, token: TokenRecord, description: dict[str, Any]) -> Settlement:
        """Succeed with the job's result only when it is the job the run created (JobIdentity)."""
        identity = JobIdentity.from_token(token)
        job_name = token.training_job_name
        foreign = self._foreign(token, identity, "training", job_name, description, "TrainingJobArn")
        return foreign or self._succeed(token, result_from(description))

    def _foreign(
        self,
        token: TokenRecord,
        identity: OwnJobCheck | None,
        kind: str,
        job_name: str,
        description: dict[str, Any],
        arn: str,
    ) -> Settlement | None:
        """The run's failure when the completed job is not the one it created (None: it is its own)."""
        if identity is None:
            cause = f"run {token.run_id} kept no record of the job it created"
            return self._fail(token, "ForeignTrainingJobError", cause)
        found = identity.mismatches(description, self.tags_of(description[arn]))
        if found:
            cause = foreign_job_cause(kind, job_name, token.run_id, found)
            return self._fail(token, "ForeignTrainingJobError", cause)
        return None

    def _succeed(self, token: TokenRecord, result: TrainingResult) -> Settlement:
        return self._send_success(token, result.model_dump(mode="json"), {"metrics": result.metrics})

    def _send_success(self, token: TokenRecord, output: dict[str, Any], record: dict[str, Any]) -> Settlement:
        if not self.tokens.claim(token.training_job_name, "success", self.claimant):
            return Settlement.ALREADY_SETTLED
        if record:
            self._record(token.run_id, **record)
        return self._send(
            token, lambda: self.workflow.succeed(token.task_token, output), Settlement.SUCCEEDED
        )

    def _fail(self, token: TokenRecord, error: str, cause: str) -> Settlement:
        if not self.tokens.claim(token.training_job_name, "failure", self.claimant):
            return Settlement.ALREADY_SETTLED
        return self._send(
            token, lambda: self.workflow.fail(token.task_token, error, cause), Settlement.FAILED
        )

    def _send(self, token: TokenRecord, send: Any, outcome: Settlement) -> Settlement:
        try:
            sent = send()
        except Exception:
            # Give the claim back so the redelivered event (or the reconciler) can settle it.
            self.tokens.unclaim(token.training_job_name)
            raise
        # TaskTimedOut / InvalidToken: the workflow already moved on, so the token counts as settled.
        self.tokens.mark_sent(token.training_job_name)
        return outcome if sent else Settlement.ALREADY_SETTLED

    def _record(self, run_id: str, **fields: Any) -> None:
        # The run may have ended already (e.g. timed out): a late result changes nothing.
        with suppress(StaleUpdateError):
            self.runs.update(run_id, **fields)


def result_from(description: dict[str, Any]) -> TrainingResult:
    metrics = {m["MetricName"]: float(m["Value"]) for m in description.get("FinalMetricDataList", [])}
    return TrainingResult(
        job_name=description["TrainingJobName"],
        status="Completed",
        metrics=metrics,
        model_artifact_uri=description["ModelArtifacts"]["S3ModelArtifacts"],
        image=description["AlgorithmSpecification"]["TrainingImage"],
        billable_seconds=description.get("BillableTimeInSeconds"),
        training_seconds=description.get("TrainingTimeInSeconds"),
    )
