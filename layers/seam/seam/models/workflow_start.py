"""The document a run's execution starts with (StartExecution's input): the part of the state machine's
document (`WorkflowState`) a run has before any state ran. The trigger, and Finalize or the reconciler
starting a waiting run, build this and not the whole document, whose 13 sections cost the trigger
about 5 ms of its cold start (workflow_state.py builds them all at import); the first state parses
it as the whole document (tests/unit/test_workflow_start.py keeps the two in step)."""

from typing import Any

from seam.models.run import DatasetRef, DeployOrder, RunRequest, TriggerKind, _Record


class WorkflowStart(_Record):
    # WorkflowState's fields in its order, with its defaults: the input is what WorkflowState(...) of
    # the same values dumps, byte for byte.
    run_id: str
    model: str
    trigger: TriggerKind
    dataset: DatasetRef | None = None
    data_unchanged: bool = False  # Validate decides; the workflow's DataChanged choice reads it
    force: bool = False  # train even on unchanged data (`seam trigger --force`)
    score_champion: bool = False  # Validate decides; the workflow's choice reads it
    rolled_back: bool = False
    deploy: DeployOrder | None = None  # a deploy run: Register resolves its version, Deploy ships it

    @classmethod
    def of(cls, request: RunRequest) -> "WorkflowStart":
        """The document `request`'s run starts with."""
        return cls(
            run_id=request.run_id,
            model=request.model,
            trigger=request.trigger,
            dataset=request.dataset,
            deploy=request.deploy,
            force=request.force,
        )

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
