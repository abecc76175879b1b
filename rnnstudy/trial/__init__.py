"""One trial: build the model and data from a point, fit it with checkpoints, and send
what happens to the driver as messages."""
