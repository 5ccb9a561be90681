"""Slippery floor zones for safexp: an element that changes the robot's grip and a cost for entering it."""
