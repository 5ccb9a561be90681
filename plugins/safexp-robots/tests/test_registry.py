"""The plugin as installed: found through the ``safexp`` entry point group and built through the registry."""

import dataclasses

import pytest

import safexp
from safexp.plugin.errors import ParameterError
from safexp.plugin import build_params
from safexp.registry import Registry
from safexp_robots import CarParams, DoggoParams, PointParams


@pytest.fixture(scope="module")
def registry() -> Registry:
    """The registry a user's process builds from the installed entry points (another plugin's load error
    only warns, so it cannot hide ours)."""
    return Registry(autoload=True, strict=False)


def test_installed_plugin_registers_point_car_doggo(registry: Registry) -> None:
    robots = registry.components("robots")
    assert {"point", "car", "doggo"} <= set(robots)
    assert robots["point"].params is PointParams
    assert robots["car"].params is CarParams
    assert robots["doggo"].params is DoggoParams
    info = registry.plugins["robots"]
    assert info.distribution == "safexp-robots"
    assert info.error is None
    assert sorted(info.provides["robots"]) == ["ant", "car", "doggo", "humanoid", "point"]


@pytest.mark.parametrize(("robot", "timestep", "frame_skip", "keepout"),
                         [("point", 0.002, 10, 0.4), ("car", 0.004, 10, 0.4), ("doggo", 0.01, 10, 0.4),
                          ("ant", 0.01, 5, 0.6), ("humanoid", 0.003, 5, 0.4)])
def test_default_params_are_the_reference_stepping(registry: Registry, robot: str, timestep: float, frame_skip: int,
                                                   keepout: float) -> None:
    spec = registry.get("robots", robot)
    params = build_params(spec, {})
    assert params.timestep == timestep
    assert params.frame_skip == frame_skip
    assert params.keepout == keepout
    model = spec.factory(params)
    assert isinstance(model, safexp.RobotModel)
    assert (model.frame_skip, model.keepout) == (frame_skip, keepout)
    assert model.can_fall == (robot in ("ant", "humanoid"))


def test_stepping_params_reach_the_robot_model(registry: Registry) -> None:
    spec = registry.get("robots", "car")
    model = spec.factory(build_params(spec, {"frame_skip": 4, "keepout": 0.25}))
    assert (model.frame_skip, model.keepout) == (4, 0.25)


def test_misspelled_parameter_names_the_nearest_one(registry: Registry) -> None:
    spec = registry.get("robots", "point")
    with pytest.raises(ParameterError, match=r"robot 'point' has no parameter 'forcelimit'; did you mean 'force_limit'"):
        build_params(spec, {"forcelimit": 0.1})


@pytest.mark.parametrize(
    ("robot", "values", "message"),
    [
        ("point", {"timestep": 0.0}, r"parameter 'timestep' of robot 'point' is 0.0 \(valid: \(0, 0.05\]\)"),
        ("point", {"timestep": 10}, r"parameter 'timestep' of robot 'point' is 10.0 \(valid: \(0, 0.05\]\)"),
        ("point", {"force_limit": -0.05}, r"parameter 'force_limit' of robot 'point' is -0.05 \(valid: \(0, inf\)\)"),
        ("car", {"frame_skip": 0}, r"parameter 'frame_skip' of robot 'car' is 0 \(valid: \[1, 1000\]\)"),
        ("car", {"timestep": 0.5}, r"parameter 'timestep' of robot 'car' is 0.5 \(valid: \(0, 0.05\]\)"),
        ("doggo", {"keepout": -1.0}, r"parameter 'keepout' of robot 'doggo' is -1.0 \(valid: \[0, inf\)\)"),
        ("doggo", {"joint_stiffness": float("nan")}, r"parameter 'joint_stiffness' of robot 'doggo' is nan"),
    ],
)
def test_out_of_range_parameter_is_named(registry: Registry, robot: str, values: dict, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        build_params(registry.get("robots", robot), values)


def test_zero_keepout_is_allowed(registry: Registry) -> None:
    spec = registry.get("robots", "doggo")
    assert spec.factory(dataclasses.replace(DoggoParams(), keepout=0.0)).keepout == 0.0


def test_unknown_integrator_lists_the_choices(registry: Registry) -> None:
    spec = registry.get("robots", "doggo")
    with pytest.raises(ParameterError, match=r"parameter 'integrator' is 'implicit_fast'; did you mean 'implicitfast'\?"):
        spec.factory(build_params(spec, {"integrator": "implicit_fast"}))
