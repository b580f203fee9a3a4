"""Each state's view of the workflow document (`seam.models.workflow_state.WorkflowState`).

A state handler parses the document with its view: the sections it reads or writes are typed records,
every other section is kept as it came (JSON) and returned unchanged. So a handler defines and builds
only the records it uses — on the serving functions that is a third of the document's — instead of
all of them at every cold start (bench/cold_start.py measures it). The sections it passes through were
checked by the state that wrote them; Finalize's view types everything its outcome reads.

A key that is not a field of the document is refused, as WorkflowState's `extra="forbid"` would.
"""

from typing import Any

from pydantic import ConfigDict

from seam.models.run import TriggerKind, _Record

# WorkflowState's fields (tests/unit/test_state_views.py keeps the two the same).
DOCUMENT_FIELDS = frozenset(
    {
        "run_id",
        "model",
        "trigger",
        "dataset",
        "data_unchanged",
        "force",
        "snapshot",
        "score_champion",
        "limits",
        "champion_scoring",
        "training",
        "evaluation",
        "registration",
        "deployment",
        "rolled_back",
        "deploy",
        "error",
    }
)


class StateView(_Record):
    """What every state reads: which run, of which model, asked for by what. Subclasses add the sections
    their state reads or writes, and are built at import (`defer_build=False`): Powertools'
    event_parser would otherwise build its own copy of the schema."""

    model_config = ConfigDict(extra="allow")

    run_id: str
    model: str
    trigger: TriggerKind

    def model_post_init(self, _context: Any) -> None:
        unknown = (self.__pydantic_extra__ or {}).keys() - DOCUMENT_FIELDS
        if unknown:
            raise ValueError(f"not a field of the workflow document: {', '.join(sorted(unknown))}")

    def dump(self) -> dict[str, Any]:
        """The whole document again, this state's sections updated: what the state returns."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
