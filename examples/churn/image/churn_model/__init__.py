"""The churn example model: one package (and one image) for SageMaker training and EKS serving."""
