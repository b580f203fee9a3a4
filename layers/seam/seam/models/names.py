"""What a model may be called: the one rule that onboarding (ModelConfig), manual requests and dataset
keys (the trigger's events) share. Its own module, so the trigger checks names without loading the
model config's classes."""

MODEL_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,39}$"
