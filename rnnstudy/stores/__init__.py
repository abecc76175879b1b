"""What is kept: Optuna's storage (optuna_storage), MLflow's tracking (mlflow_tracking), how a
trial ended in both (outcome), heartbeats, and each invocation's provenance record."""
