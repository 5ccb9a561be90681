"""The engine: from a validated scene to a stepping constrained environment.

Read in this order: :mod:`~safexp.engine.scene` (configuration → a validated :class:`Scene`),
:mod:`~safexp.engine.compose` (one MJCF document from the robot, the floor and the elements),
:mod:`~safexp.engine.world` (the compiled model, its state and layouts, with :mod:`~safexp.engine.layout`),
:mod:`~safexp.engine.observation` (sensors and :mod:`~safexp.engine.lidar`), :mod:`~safexp.engine.costs`
(cost terms → ``info``), :mod:`~safexp.engine.env` (the Gymnasium env) and :mod:`~safexp.engine.render`; then
:mod:`~safexp.engine.vision` (camera images as observations) and :mod:`~safexp.engine.feedback` (previous reward
and cost as inputs).
"""
