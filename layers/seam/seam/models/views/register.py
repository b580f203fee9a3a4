"""Register's view of the workflow document: what it registers (the dataset, the training result and
its evaluation), or a deploy run's order, and the registration it writes."""

from pydantic import ConfigDict

from seam.models.deploy_order import DeployOrder
from seam.models.evaluation import Evaluation
from seam.models.release import Registration
from seam.models.run import DatasetRef
from seam.models.training_result import TrainingResult
from seam.models.views import StateView

# Built before the view, which then reuses their schemas instead of generating them again:
# Register builds it anyway (it writes it).
for _section in (Registration,):
    _section.model_rebuild()


class RegisterState(StateView):
    model_config = ConfigDict(defer_build=False)

    dataset: DatasetRef | None = None
    training: TrainingResult | None = None
    evaluation: Evaluation | None = None
    registration: Registration | None = None
    deploy: DeployOrder | None = None  # a deploy run: Register resolves its version
