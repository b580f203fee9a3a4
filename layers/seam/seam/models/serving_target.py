"""Where a model serves: the Kubernetes Deployment and container that Deploy patches (a model config's
`serving`). Its own module because the serving functions read nothing else of a config: they validate
this, not a whole ModelConfig, whose classes and build cost them about 6 ms of cold start."""

from pydantic import BaseModel, ConfigDict, Field

# Kubernetes object names (RFC 1123 labels / subdomains).
K8S_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class ServingTarget(BaseModel):
    # Built at first use, like every Seam record (seam.models.run._Record says why).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    cluster: str = Field(pattern=r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
    namespace: str = Field(pattern=K8S_NAME_PATTERN)
    deployment: str = Field(pattern=K8S_NAME_PATTERN)
    container: str = Field(pattern=K8S_NAME_PATTERN)
