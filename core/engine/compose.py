"""Scene composition: one MJCF document from the robot's model, the floor, the arena and the elements.

The result is compiled once per environment; layouts are applied later by moving bodies (free joints and
mocap bodies), never by recompiling.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping

import mujoco

from safexp.plugin.element import Element
from safexp.plugin.errors import ParameterError
from safexp.plugin.robot import RobotModel

COST_LIGHT = "cost_light"
"""The site around the robot that turns red on steps with cost (rendering only)."""

_MERGED_ATTRIBUTES = ("compiler", "option", "size", "statistic", "visual")

_BASE = """
<mujoco model="safexp">
  <visual>
    <headlight ambient="0.4 0.4 0.4" diffuse="0.6 0.6 0.6" specular="0.1 0.1 0.1"/>
    <map znear="0.01"/>
    <quality shadowsize="2048"/>
  </visual>
  <asset>
    <texture name="safexp_grid" type="2d" builtin="checker" rgb1="0.90 0.90 0.92" rgb2="0.82 0.82 0.86"
             width="512" height="512" mark="edge" markrgb="0.7 0.7 0.75"/>
    <material name="safexp_floor" texture="safexp_grid" texrepeat="1 1" texuniform="true" reflectance="0.05"/>
  </asset>
  <worldbody>
    <light name="safexp_sun" pos="0 0 8" dir="0 0 -1" directional="true" diffuse="0.5 0.5 0.5" castshadow="false"/>
    <geom name="floor" type="plane" size="{floor} {floor} 0.1" material="safexp_floor" condim="6"/>
    <camera name="fixednear" pos="0 -{near} {near}" xyaxes="1 0 0 0 0.7071 0.7071"/>
    <camera name="fixedfar" pos="0 -{far} {far}" xyaxes="1 0 0 0 0.7071 0.7071"/>
  </worldbody>
</mujoco>
"""


def _parse(xml: str, what: str) -> ET.Element:
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise ParameterError(f"{what} is not valid XML: {exc}") from None
    if root.tag != "mujoco":
        raise ParameterError(f"{what} must be a <mujoco> document, got <{root.tag}>")
    return root


def _section(root: ET.Element, tag: str) -> ET.Element:
    found = root.find(tag)
    if found is None:
        found = ET.SubElement(root, tag)
    return found


def _merge_document(scene: ET.Element, part: ET.Element) -> None:
    """Merge the top-level sections of ``part`` into ``scene`` (attributes of singletons, children of all)."""
    for section in part:
        target = scene.find(section.tag)
        if target is None:
            scene.append(copy.deepcopy(section))
            continue
        if section.tag in _MERGED_ATTRIBUTES or section.tag == "default":
            target.attrib.update(section.attrib)
        target.extend(copy.deepcopy(child) for child in section)


def _fragment(tag: str, inner: str, what: str) -> ET.Element:
    try:
        return ET.fromstring(f"<{tag}>{inner}</{tag}>")
    except ET.ParseError as exc:
        raise ParameterError(f"{what} is not valid MJCF: {exc}") from None


def compose_mjcf(robot: RobotModel, elements: Mapping[str, Element], extents: list[float]) -> str:
    """The scene's MJCF document.

    :param robot: the robot model (its document is the scene's starting point).
    :param elements: element name → element, each contributing ``num`` bodies named ``{name}{i}``.
    :param extents: the arena, which sizes the floor and the fixed cameras.
    :return: the composed MJCF as a string.
    """
    reach = max(abs(v) for v in extents)
    scene = ET.fromstring(_BASE.format(floor=reach + 2.0, near=reach + 1.0, far=2 * reach + 2.0))
    robot_root = _parse(robot.mjcf, "the robot's MJCF")
    bodies = [b for b in robot_root.findall("./worldbody/body")]
    if len(bodies) != 1 or bodies[0].get("name") != "robot":
        raise ParameterError("the robot's MJCF must have exactly one top-level worldbody body, named 'robot'")
    ET.SubElement(bodies[0], "site", name=COST_LIGHT, type="sphere", size="0.25", rgba="1 0 0 0", group="1")
    _merge_document(scene, robot_root)
    worldbody = _section(scene, "worldbody")
    for name, element in elements.items():
        for i in range(element.params.num):
            body = ET.SubElement(worldbody, "body", name=f"{name}{i}", pos=f"0 0 {element.resting_height()}")
            if element.movable:
                ET.SubElement(body, "freejoint", name=f"{name}{i}")
            else:
                body.set("mocap", "true")
            body.extend(_fragment("body", element.body_xml(i), f"element '{name}' object {i}"))
        for tag, inner in element.extra_xml().items():
            _section(scene, tag).extend(_fragment(tag, inner, f"element '{name}' <{tag}>"))
    return ET.tostring(scene, encoding="unicode")


def compile_mjcf(xml: str, owners: Mapping[str, str] | None = None) -> mujoco.MjModel:
    """Compile a composed document.

    :param owners: top-level body name → the user's key whose parameters made it (``hazards0`` → ``hazards``,
        ``robot`` → ``robot_params``).
    :raises ParameterError: MuJoCo's compile error, with the body and the user's key of the object it names.
    """
    try:
        return mujoco.MjModel.from_xml_string(xml)
    except ValueError as exc:
        raise ParameterError(_compile_error(str(exc), xml, owners or {})) from None


_COMPILE_ERROR = re.compile(r"(Error: )?(?P<reason>.*?)\s*\nElement name '[^']*', id (?P<id>\d+)", re.DOTALL)
_OBJECT_TAGS = {"joint": ("joint", "freejoint"), "geom": ("geom",), "site": ("site",), "camera": ("camera",),
                "light": ("light",)}


def _compile_error(message: str, xml: str, owners: Mapping[str, str]) -> str:
    """A MuJoCo compile error in the user's terms: ``"size 0 must be positive in geom, id 4"`` becomes the reason,
    the top-level body the object belongs to, and the key whose parameters to check."""
    match = _COMPILE_ERROR.match(message)
    kind = match["reason"].split()[-1] if match else ""
    body = _top_level_body(ET.fromstring(xml), kind, int(match["id"])) if match else None
    if match is None or body is None:
        return f"the composed scene does not compile: {' '.join(message.split())}"
    key = owners.get(body)
    check = f"; check the '{key}' parameters" if key else ""
    return f"the composed scene does not compile: {match['reason']} (a {kind} of '{body}'){check}"


def _top_level_body(scene: ET.Element, kind: str, index: int) -> str | None:
    """The name of the worldbody child that holds MuJoCo's ``kind`` object number ``index`` (``world`` for the
    worldbody's own), counting as MuJoCo does: bodies in depth-first order, each one's objects in document order."""
    worldbody = scene.find("worldbody")
    if worldbody is None:
        return None
    owned: list[str] = []

    def visit(body: ET.Element, top: str) -> None:
        if kind == "body":
            owned.append(top)
        owned.extend(top for child in body if child.tag in _OBJECT_TAGS.get(kind, ()))
        for child in body.iterfind("body"):
            visit(child, child.get("name", "") if body is worldbody else top)

    visit(worldbody, "world")
    return owned[index] if index < len(owned) else None
