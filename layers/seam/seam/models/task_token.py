"""The input of a workflow task that waits for a task token (.waitForTaskToken): LaunchTraining and
ScoreChampion each start a SageMaker job and return; the training callback settles the token."""

from pydantic import BaseModel, Field

from seam.models.views.training import TrainingState


class TokenTaskInput(BaseModel):
    state: TrainingState
    task_token: str
    attempt: int = Field(default=0, ge=0)  # $$.State.RetryCount: a later attempt's token is the live one
