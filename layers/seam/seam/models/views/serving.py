"""The serving functions' view of the workflow document (Deploy, CheckRollout, Rollback): the version to
ship (registration, or a deploy run's order, and the image training recorded), its rollout, and
whether it was rolled back and why."""

from pydantic import ConfigDict

from seam.models.deploy_order import DeployOrder
from seam.models.error_info import ErrorInfo
from seam.models.release import DeploymentInfo, Registration
from seam.models.training_result import TrainingResult
from seam.models.views import StateView

# Built before the view, which then reuses their schemas instead of generating them again:
# Deploy builds it anyway (it writes it).
for _section in (DeploymentInfo,):
    _section.model_rebuild()


class ServingState(StateView):
    model_config = ConfigDict(defer_build=False)

    training: TrainingResult | None = None
    registration: Registration | None = None
    deployment: DeploymentInfo | None = None
    rolled_back: bool = False
    deploy: DeployOrder | None = None
    error: ErrorInfo | None = None
