"""What a study declares: the Study, its search space and hyperparameters, which way its
objective is better, and the Optuna sampler and pruner it asks for."""
