"""Whether a job holding a run's name is the run's own: what a run proves of a job before it adopts it
(at launch, seam.domain.training and seam.domain.champion_scoring) or settles the run from it
(seam.domain.settlement). A module of its own: LaunchTraining and the training callback both use it, and
neither loads the other's half at cold start."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from seam.errors import ForeignTrainingJobError

if TYPE_CHECKING:
    from seam.adapters.dynamodb.tokens import TokenRecord, TokenStore


# Who claims the token of a run whose job name is held by a foreign job: nobody settles it from that
# job, and no orphan sweep stops a job that is not Seam's.
FOREIGN_JOB_CLAIMANT = "foreign-job"


class JobIdentity(NamedTuple):
    """The training job a run would have created: what it proves before it treats a job as its own.
    (A NamedTuple, like the token it is stored with: no dataclass machinery at cold start.)"""

    run_id: str
    stage: str
    role_arn: str
    image: str  # the model config's, pinned by digest
    output_uri: str  # S3OutputPath: the job writes <output_uri><job name>/output/model.tar.gz

    def stored(self) -> dict[str, str]:
        return {
            "role_arn": self.role_arn,
            "image": self.image,
            "output_uri": self.output_uri,
            "stage": self.stage,
        }

    @classmethod
    def from_token(cls, token: TokenRecord) -> JobIdentity | None:
        """What the token's launch stored; None when it stored nothing usable (adopt nothing then)."""
        stored = token.expected or {}
        fields = [stored.get(k) for k in ("stage", "role_arn", "image", "output_uri")]
        if not all(isinstance(f, str) and f for f in fields):
            return None
        return cls(token.run_id, *fields)

    def mismatches(self, description: dict[str, Any], tags: dict[str, str]) -> list[str]:
        """Why the described job is not this run's own (empty: it is): role, image digest, output path,
        artifact under the run's own prefix, Seam's stage and run tags."""
        found: list[str] = []
        role = description.get("RoleArn")
        if role != self.role_arn:
            found.append(f"role {role} ≠ Seam's {self.role_arn}")
        image = (description.get("AlgorithmSpecification") or {}).get("TrainingImage")
        if image != self.image:
            found.append(f"image {image} ≠ config {self.image}")
        output = (description.get("OutputDataConfig") or {}).get("S3OutputPath") or ""
        if output.rstrip("/") != self.output_uri.rstrip("/"):
            found.append(f"output {output or None} ≠ the run's {self.output_uri}")
        artifact = (description.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        own_prefix = f"{self.output_uri.rstrip('/')}/{self.run_id}/"
        if artifact is not None and not artifact.startswith(own_prefix):
            found.append(f"artifact {artifact} not under the run's {own_prefix}")
        for key, want in (("seam:stage", self.stage), ("seam:run-id", self.run_id)):
            if tags.get(key) != want:
                found.append(f"tag {key}={tags.get(key)!r} ≠ {want!r}")
        return found


class OwnJobCheck(Protocol):
    """What a run proves of a job before it treats it as its own (JobIdentity, ScoringIdentity)."""

    @property
    def run_id(self) -> str: ...

    def mismatches(self, description: dict[str, Any], tags: dict[str, str]) -> list[str]: ...


def foreign_job_cause(kind: str, job_name: str, run_id: str, found: list[str]) -> str:
    """Why a job holding the run's name is not the run's own: every difference, named."""
    return f"{kind} job {job_name} is not run {run_id}'s: " + "; ".join(found)


def refuse_foreign_job(
    kind: str,
    job_name: str,
    identity: OwnJobCheck,
    description: dict[str, Any],
    tags: dict[str, str],
    tokens: TokenStore,
) -> None:
    """A job already holds the run's name: adopt it only if it is the job this run would have created
    (`identity`: a JobIdentity, or champion scoring's ScoringIdentity). A foreign one fails the run
    (ForeignTrainingJobError) with the run's token claimed, so no event of that job settles the run
    and no orphan sweep stops a job that is not Seam's."""
    found = identity.mismatches(description, tags)
    if found:
        tokens.claim(job_name, "failure", FOREIGN_JOB_CLAIMANT)
        raise ForeignTrainingJobError(foreign_job_cause(kind, job_name, identity.run_id, found))
