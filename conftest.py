"""Repository-wide pytest set-up: headless rendering for every test, whatever imports MuJoCo first."""

import os

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")
