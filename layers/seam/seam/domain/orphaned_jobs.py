"""Jobs nobody waits for any more (`OrphanedJobs`): Finalize and the reconciler stop them. Apart from
seam.domain.training (launch) and seam.domain.settlement, which those two would otherwise load at cold
start only for this."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from seam.adapters.dynamodb.tokens import TokenRecord, TokenStore
    from seam.adapters.sagemaker import JobStop, TrainingJobs


class OrphanedJobs:
    """Training jobs nobody waits for any more. A run that ends with its task token unsettled (it timed
    out, a state after CreateTrainingJob failed, its execution was aborted or ended without Finalize)
    leaves its job running to its max runtime, while the model's next run starts a second job."""

    def __init__(self, tokens: TokenStore, training: TrainingJobs) -> None:
        self.tokens, self.training = tokens, training

    def stop(self, run_id: str) -> JobStop | None:
        """Stop `run_id`'s job if its token is unsettled: its training job (named by the run id), else
        the Processing job scoring its champion (which runs before training: a run waits on one job at a
        time). None when there is nothing to stop: no token (the run never launched one) or a settled
        token (the job ended and its result was delivered: tokens are claimed only for ended jobs)."""
        token = self.tokens.get(run_id)
        if token is not None and not token.settled:
            return self.training.stop(token.training_job_name)
        from seam.domain.champion_scoring import scoring_job_name

        scoring = self.tokens.get(scoring_job_name(run_id))
        if scoring is None or scoring.settled or not is_scoring(scoring):
            return None
        return self.training.stop_processing(scoring.training_job_name)


def is_scoring(token: TokenRecord) -> bool:
    """The token waits for a champion scoring (Processing) job, not a training job."""
    return (token.expected or {}).get("kind") == "processing"
