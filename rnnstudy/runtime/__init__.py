"""Where a trial computes: the Keras backend and its environment, the devices and how
workers are placed on them, and the numeric precision per device."""
