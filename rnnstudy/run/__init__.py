"""Running a study: the driver and its plan, the worker pool and its supervisor, which
points run next (planner), progress and the time estimate."""
