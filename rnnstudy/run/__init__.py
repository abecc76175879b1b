"""Running a study: the preflight that resolves a run's options once (preflight), the driver,
the worker pool and its supervisor, which points run next (planner), progress and the time
estimate."""

from rnnstudy._lazy import exports

__all__ = ["Estimate", "Finished", "Plan", "Preflight", "RunOptions", "optimize", "plan"]
__getattr__, __dir__ = exports(
    __name__,
    {
        "Estimate": "rnnstudy.run._estimate",
        "Finished": "rnnstudy.run.driver",
        "Plan": "rnnstudy.run._planner",
        "Preflight": "rnnstudy.run.preflight",
        "RunOptions": "rnnstudy.run.preflight",
        "optimize": "rnnstudy.run.driver",
        "plan": "rnnstudy.run._planner",
    },
)
